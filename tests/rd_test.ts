import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Registers the gradient functions (tfjs-core alone has none).
import "../lib/backend/register_gradients.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  applyBatchNorm,
  applyConv2d,
  applyConvTranspose2x2,
  createBatchNorm,
  createConv2d,
  createConvTranspose2x2,
  instanceNorm,
  VariableStore,
} from "../lib/methods/layers.ts";
import { gaussianBlur, gaussianKernel1d, reflectIndex } from "../lib/methods/gaussian_blur.ts";
import {
  applyDecoder,
  applyFrozen,
  applyOCBE,
  cosineDistanceMap,
  createDecoder,
  createOCBE,
  createRD,
  flatCosineDistance,
  RD_DEFAULTS,
  rdAnomalyMap,
  rdLoss,
  rdPresetFor,
  resolveRDConfig,
} from "../lib/methods/rd/mod.ts";
import { createMethod } from "../lib/methods/registry.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await tf.setBackend("cpu");
await tf.ready();

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, "float32", seed);
}

Deno.test("conv2d pads symmetrically like PyTorch (not TF 'same')", () => {
  const store = new VariableStore("", 3);
  const conv = createConv2d(store, "c", {
    inChannels: 2,
    outChannels: 3,
    kernelSize: 3,
    stride: 2,
    padding: 1,
  });
  tf.tidy(() => {
    const x = randomTensor([1, 6, 6, 2], 1) as tf.Tensor4D;
    const y = applyConv2d(conv, x);
    assertEquals(y.shape, [1, 3, 3, 3]);
    const explicit = tf.conv2d(
      tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]),
      conv.weight,
      2,
      "valid",
    );
    assert(maxAbsDiff(y, explicit) < 1e-5);
    // TF "same" pads (0, 1) for this case, so it gives different numbers.
    assert(maxAbsDiff(y, tf.conv2d(x, conv.weight, 2, "same")) > 1e-3);
  });
  store.dispose();
});

Deno.test("2x2 transposed conv equals tf.conv2dTranspose", () => {
  const store = new VariableStore("", 4);
  const layer = createConvTranspose2x2(store, "up", { inChannels: 3, outChannels: 5 });
  tf.tidy(() => {
    const x = randomTensor([2, 3, 4, 3], 2) as tf.Tensor4D;
    const y = applyConvTranspose2x2(layer, x);
    assertEquals(y.shape, [2, 6, 8, 5]);
    const filter = tf.transpose(layer.weight, [1, 2, 3, 0]) as tf.Tensor4D; // [2, 2, out, in]
    const reference = tf.conv2dTranspose(x, filter, [2, 6, 8, 5], 2, "valid");
    assert(maxAbsDiff(y, reference) < 1e-5);
  });
  store.dispose();
});

Deno.test("batch norm: training normalises and updates running stats, eval uses them", () => {
  const store = new VariableStore("", 5);
  const bn = createBatchNorm(store, "bn", 2);
  tf.tidy(() => {
    const x = tf.add(tf.mul(randomTensor([4, 3, 3, 2], 3), 3), 2) as tf.Tensor4D;
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const y = applyBatchNorm(bn, x, true);
    const stats = tf.moments(y, [0, 1, 2]);
    stats.mean.dataSync().forEach((m) => assertAlmostEquals(m, 0, 1e-4));
    stats.variance.dataSync().forEach((v) => assertAlmostEquals(v, 1, 1e-3));
    const n = 4 * 3 * 3;
    const expectedMean = tf.mul(mean, 0.1).dataSync();
    const expectedVar = tf.add(0.9, tf.mul(variance, 0.1 * n / (n - 1))).dataSync();
    bn.runningMean.dataSync().forEach((m, c) => assertAlmostEquals(m, expectedMean[c], 1e-5));
    bn.runningVar.dataSync().forEach((v, c) => assertAlmostEquals(v, expectedVar[c], 1e-5));
    const evalOut = applyBatchNorm(bn, x, false);
    const manual = tf.div(tf.sub(x, bn.runningMean), tf.sqrt(tf.add(bn.runningVar, 1e-5)));
    assert(maxAbsDiff(evalOut, manual) < 1e-4);
  });
  assertThrows(
    () => applyBatchNorm(bn, tf.zeros([1, 1, 1, 2]), true),
    Error,
    "more than one value",
  );
  store.dispose();
});

Deno.test("batch norm in training mode back-propagates through the batch statistics", () => {
  const store = new VariableStore("", 6);
  const bn = createBatchNorm(store, "bn", 3);
  tf.tidy(() => {
    const x = tf.add(randomTensor([2, 3, 3, 3], 7), 1);
    const weights = randomTensor([2, 3, 3, 3], 8);
    const viaLayer = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(applyBatchNorm(bn, t as tf.Tensor4D, true), weights))
    )(x);
    const manual = tf.grad((t: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      return tf.sum(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), weights));
    })(x);
    assert(maxAbsDiff(viaLayer, manual) < 1e-4);
    assert(tf.max(tf.abs(manual)).dataSync()[0] > 1e-2);
  });
  store.dispose();
});

Deno.test("batch norm's closed-form gradient matches autodiff for x, gamma and beta", () => {
  const store = new VariableStore("", 9);
  const bn = createBatchNorm(store, "bn", 4);
  bn.weight.assign(tf.tensor1d([0.5, -1.5, 2, 1]));
  bn.bias.assign(tf.tensor1d([0.1, 0, -0.3, 2]));
  tf.tidy(() => {
    const x = tf.add(tf.mul(randomTensor([3, 4, 5, 4], 11), 2), 0.5);
    const weights = randomTensor([3, 4, 5, 4], 12);
    const lossOf = (y: tf.Tensor) => tf.sum(tf.mul(tf.square(y), weights));
    const viaLayer = tf.grads((t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      // The layer reads gamma and beta from its variables; route the inputs through them.
      const layer = {
        ...bn,
        weight: g as tf.Variable<tf.Rank.R1>,
        bias: b as tf.Variable<tf.Rank.R1>,
      };
      return lossOf(applyBatchNorm(layer, t as tf.Tensor4D, true));
    })([x, bn.weight, bn.bias]);
    const autodiff = tf.grads((t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      const xHat = tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5)));
      return lossOf(tf.add(tf.mul(xHat, g), b));
    })([x, bn.weight, bn.bias]);
    for (const [i, what] of ["dx", "dgamma", "dbeta"].entries()) {
      const scale = tf.max(tf.abs(autodiff[i])).dataSync()[0];
      assert(scale > 1e-2, `${what} is not trivially zero`);
      const err = maxAbsDiff(viaLayer[i], autodiff[i]);
      assert(err <= 1e-5 * scale, `${what}: max error ${err} against scale ${scale}`);
    }
  });
  store.dispose();
});

Deno.test("instance norm normalises each image and channel", () => {
  tf.tidy(() => {
    const x = tf.add(randomTensor([2, 4, 4, 3], 6), tf.tensor1d([5, -3, 0])) as tf.Tensor4D;
    const { mean, variance } = tf.moments(instanceNorm(x), [1, 2]);
    mean.dataSync().forEach((m) => assertAlmostEquals(m, 0, 1e-4));
    variance.dataSync().forEach((v) => assertAlmostEquals(v, 1, 1e-3));
  });
});

for (const blockType of ["basic", "bottleneck"] as const) {
  Deno.test(`OCBE and decoder shapes (${blockType} blocks)`, () => {
    const channels = [8, 16, 32];
    const config = resolveRDConfig("fake", {
      blockType,
      bottleneckBlocks: 2,
      decoderBlocks: [1, 2, 1],
    });
    const store = new VariableStore("rd", 0);
    const ocbe = createOCBE(store, channels, config);
    const decoder = createDecoder(store, channels, config);
    tf.tidy(() => {
      // Encoder maps of a 64x64 input: strides 4, 8, 16.
      const features = [[2, 16, 16, 8], [2, 8, 8, 16], [2, 4, 4, 32]].map((s, i) =>
        randomTensor(s, 10 + i) as tf.Tensor4D
      );
      const embedding = applyOCBE(ocbe, features, true);
      assertEquals(embedding.shape, [2, 2, 2, 64]);
      const outputs = applyDecoder(decoder, embedding, true);
      assertEquals(outputs.map((o) => o.shape), features.map((f) => f.shape));
      assertEquals(applyDecoder(decoder, applyOCBE(ocbe, features, false), false).length, 3);
    });
    const names = [...store.named().keys()];
    assert(names.includes("rd.bn.conv1.weight"));
    assert(names.includes("rd.bn.bn_layer.0.downsample.1.running_var"));
    assert(names.includes("rd.decoder.layer2.1.bn2.weight"));
    assert(names.includes("rd.decoder.layer3.0.upsample.0.weight"));
    store.dispose();
  });
}

Deno.test("RD loss: zero for perfect reconstruction, 1 - cos on a hand case", () => {
  tf.tidy(() => {
    const features = [
      randomTensor([2, 4, 4, 3], 20),
      randomTensor([2, 2, 2, 5], 21),
    ] as tf.Tensor4D[];
    assertAlmostEquals(rdLoss(features, features).dataSync()[0], 0, 1e-6);
    // Scaling a reconstruction does not change a cosine.
    const scaled = features.map((f) => tf.mul(f, 3) as tf.Tensor4D);
    assertAlmostEquals(rdLoss(features, scaled).dataSync()[0], 0, 1e-6);

    // Image 0: (1, 0) vs (1, 1) -> 1 - 1/sqrt(2); image 1: (1, 0) vs (0, 1) -> 1.
    const enc = tf.tensor4d([1, 0, 1, 0], [2, 1, 1, 2]);
    const dec = tf.tensor4d([1, 1, 0, 1], [2, 1, 1, 2]);
    const perImage = flatCosineDistance(enc, dec).dataSync();
    assertAlmostEquals(perImage[0], 1 - Math.SQRT1_2, 1e-6);
    assertAlmostEquals(perImage[1], 1, 1e-6);
    const oneScale = (1 - Math.SQRT1_2 + 1) / 2;
    assertAlmostEquals(rdLoss([enc], [dec]).dataSync()[0], oneScale, 1e-6);
    // Summed over scales.
    assertAlmostEquals(rdLoss([enc, enc], [dec, dec]).dataSync()[0], 2 * oneScale, 1e-6);
  });
  assertThrows(() => rdLoss([], []), Error, "decoder maps");
});

Deno.test("Gaussian kernel matches the hand formula", () => {
  const k = gaussianKernel1d(1);
  assertEquals(k.length, 9);
  const raw = [-4, -3, -2, -1, 0, 1, 2, 3, 4].map((x) => Math.exp(-x * x / 2));
  const sum = raw.reduce((a, b) => a + b);
  raw.forEach((w, i) => assertAlmostEquals(k[i], w / sum, 1e-7));
  assertEquals(gaussianKernel1d(4).length, 33);
  assertThrows(() => gaussianKernel1d(0), Error, "sigma > 0");
});

Deno.test("Gaussian blur of a delta sums to 1 and is the outer product of the kernel", () => {
  const size = 41;
  const center = 20;
  const delta = new Float32Array(size * size);
  delta[center * size + center] = 1;
  const k = gaussianKernel1d(4);
  tf.tidy(() => {
    const blurred = gaussianBlur(tf.tensor3d(delta, [1, size, size]), { sigma: 4 });
    assertEquals(blurred.shape, [1, size, size]);
    const values = Array.from(blurred.dataSync());
    assertAlmostEquals(values.reduce((a, b) => a + b, 0), 1, 1e-4);
    for (const [dy, dx] of [[0, 0], [3, -5], [16, 16], [-10, 2]]) {
      assertAlmostEquals(values[(center + dy) * size + center + dx], k[16 + dy] * k[16 + dx], 1e-7);
    }
    // A constant map is unchanged with "reflect" and darkens at the border with "zero".
    const ones = tf.ones([2, 12, 10]) as tf.Tensor3D;
    assert(maxAbsDiff(gaussianBlur(ones, { sigma: 4 }), ones) < 1e-5);
    const zeroPadded = gaussianBlur(ones, { sigma: 4, padding: "zero" }).dataSync();
    assert(zeroPadded[0] < 0.5);
  });
  // scipy "reflect": d c b a | a b c d | d c b a
  assertEquals([-3, -2, -1, 0, 3, 4, 5, 9].map((i) => reflectIndex(i, 4)), [
    2,
    1,
    0,
    0,
    3,
    3,
    2,
    1,
  ]);
});

Deno.test("anomaly map: zero for identical features, mean vs sum, upsampled size", () => {
  tf.tidy(() => {
    const enc = [
      randomTensor([2, 8, 8, 4], 30),
      randomTensor([2, 4, 4, 6], 31),
      randomTensor([
        2,
        2,
        2,
        8,
      ], 32),
    ] as tf.Tensor4D[];
    const same = rdAnomalyMap(enc, enc, [32, 32]);
    assertEquals(same.shape, [2, 32, 32]);
    assert(tf.max(tf.abs(same)).dataSync()[0] < 1e-5);

    const dec = enc.map((e, i) => tf.add(e, randomTensor(e.shape, 40 + i)) as tf.Tensor4D);
    const mean = rdAnomalyMap(enc, dec, [32, 32]);
    const sum = rdAnomalyMap(enc, dec, [32, 32], { reduction: "sum" });
    assert(tf.min(mean).dataSync()[0] > 0);
    assert(maxAbsDiff(tf.mul(mean, 3), sum) < 1e-4);

    // Without blur, one pixel map with a single upsampled scale is the cosine distance itself.
    const direct = cosineDistanceMap(enc[0], dec[0]);
    const unblurred = rdAnomalyMap([enc[0]], [dec[0]], [8, 8], { sigma: 0 });
    assert(maxAbsDiff(direct, unblurred) < 1e-5);
  });
});

Deno.test("applyFrozen returns the backbone's features without taping it", () => {
  const backbone = createFakeBackbone();
  tf.tidy(() => {
    const images = randomImages(2, 32, 1);
    const direct = backbone.apply(images);
    const viaCustom = applyFrozen((x) => backbone.apply(x), images);
    viaCustom.forEach((f, i) => assert(maxAbsDiff(f, direct[i]) === 0));
    // Still differentiable downstream: gradients reach a variable applied after it.
    const w = tf.variable(tf.scalar(2));
    const { grads } = tf.variableGrads(
      () => tf.mul(w, tf.sum(applyFrozen((x) => backbone.apply(x), images)[2])) as tf.Scalar,
      [w],
    );
    assertAlmostEquals(grads[w.name].dataSync()[0], tf.sum(direct[2]).dataSync()[0], 1e-2);
    // On a gradient tape, the direct call keeps the backbone's intermediate tensors for a
    // backward pass; applyFrozen keeps only the three feature maps' buffers.
    const newBuffers = (run: () => tf.Tensor4D[]) => {
      let added = 0;
      tf.variableGrads(() => {
        const before = tf.memory().numDataBuffers;
        const features = run();
        added = tf.memory().numDataBuffers - before;
        return tf.mul(w, tf.sum(features[2])) as tf.Scalar;
      }, [w]);
      return added;
    };
    assertEquals(newBuffers(() => applyFrozen((x) => backbone.apply(x), images)), 3);
    assert(newBuffers(() => backbone.apply(images)) > 3);
    w.dispose();
  });
  backbone.dispose();
});

Deno.test("RD method: forward outputs, predict shapes, no leaks, seeds", () => {
  const backbone = createFakeBackbone();
  const rd = createRD(backbone, {}, 7);
  assertEquals(rd.frozenChannels, [8, 16, 32]);
  assert(rd.acceptsFeatureAdapter);
  const groups = rd.parameterGroups();
  assertEquals(groups.length, 1);
  assertEquals(groups[0].learningRate, 5e-3);
  const named = rd.namedVariables();
  assertEquals(groups[0].variables.length, [...named.values()].filter((v) => v.trainable).length);
  assert([...named.keys()].every((k) => k.startsWith("rd.")));

  const images = randomImages(2, 64, 2);
  tf.tidy(() => {
    const out = rd.forward({ images, classIds: new Int32Array([0, 1]) }, { computeLoss: true });
    if (out.loss === undefined) throw new Error("no loss with computeLoss true");
    assertEquals(out.loss.rank, 0);
    const loss = out.loss.dataSync()[0];
    assert(loss > 0 && loss < 6, `loss ${loss}`);
    assertEquals(out.dense.map((d) => d.shape), [[2, 16, 16, 8], [2, 8, 8, 16], [2, 4, 4, 32]]);
    assertEquals(out.matching.map((d) => d.shape), out.dense.map((d) => d.shape));
    assertEquals(out.compact.shape, [2, 64]);

    // An adapter changes `dense` and the bottleneck input, not `matching`.
    const adapted = rd.forward({ images, classIds: new Int32Array([0, 1]) }, {
      computeLoss: false,
      adaptFeatures: (frozen) => frozen.map((f) => tf.mul(f, -1) as tf.Tensor4D),
    });
    assertEquals(adapted.loss, undefined);
    assert(maxAbsDiff(adapted.matching[0], out.matching[0]) === 0);
    assert(maxAbsDiff(adapted.dense[0], tf.neg(out.matching[0])) === 0);
    assert(maxAbsDiff(adapted.compact, out.compact) > 1e-4);
  });

  const before = tf.memory().numTensors;
  const { maps, scores } = rd.predict(images);
  assertEquals(maps.shape, [2, 64, 64]);
  assertEquals(scores.shape, [2]);
  const maxes = tf.tidy(() => tf.max(maps, [1, 2]).dataSync());
  scores.dataSync().forEach((s, i) => assertAlmostEquals(s, maxes[i], 1e-6));
  assert(scores.dataSync().every((s) => s > 0 && Number.isFinite(s)));
  tf.dispose([maps, scores]);
  assertEquals(tf.memory().numTensors, before);

  // Same seed, same weights; another seed, other weights.
  const twin = createRD(backbone, {}, 7);
  const other = createRD(backbone, {}, 8);
  const key = "rd.decoder.layer1.0.conv1.weight";
  assertEquals(maxAbsDiff(twin.namedVariables().get(key)!, named.get(key)!), 0);
  assert(maxAbsDiff(other.namedVariables().get(key)!, named.get(key)!) > 1e-3);
  tf.dispose(images);
  for (const method of [rd, twin, other]) method.dispose();
  backbone.dispose();
});

Deno.test("RD rejects bad inputs and configs with clear errors", () => {
  const backbone = createFakeBackbone();
  assertThrows(
    () => createRD(backbone, { blockTyp: "basic" }),
    Error,
    'unknown RD config key "blockTyp"',
  );
  assertThrows(() => createRD(backbone, { decoderBlocks: [1, 0, 1] }), Error, "decoderBlocks");
  const odd = createFakeBackbone([6, 16, 32]);
  assertThrows(() => createRD(odd, { blockType: "bottleneck" }), Error, "divisible by 4");
  odd.dispose();
  const rd = createRD(backbone);
  const images = randomImages(1, 48, 3); // 48 / 32 is not whole
  assertThrows(() => rd.predict(images), Error, "divisible by 8");
  images.dispose();
  rd.dispose();
  backbone.dispose();
  assertThrows(() => createMethod("nope", backbone), Error, 'unknown method "nope"');
});

Deno.test("config presets and registry", () => {
  assertEquals(rdPresetFor("wide_resnet50_2").decoderBlocks, [3, 4, 6]);
  assertEquals(rdPresetFor("wide_resnet50_2").widthFactor, 2);
  assertEquals(rdPresetFor("resnet18").blockType, "basic");
  assertEquals(rdPresetFor("small_resnet"), { ...RD_DEFAULTS, decoderBlocks: [1, 1, 1] });
  assertEquals(resolveRDConfig("resnet18", { mapReduction: "sum" }).mapReduction, "sum");
  const backbone = createFakeBackbone([8, 16, 32]);
  const method = createMethod("rd", backbone, { blockType: "bottleneck" }, 1);
  assertEquals(method.name, "rd");
  method.dispose();
  backbone.dispose();
});
