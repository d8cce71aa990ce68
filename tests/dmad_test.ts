import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { cclObjective } from "../lib/ccl/mod.ts";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import {
  coordinateChannels,
  createPreDeformation,
  createVectorQuantizer,
  deformationLoss,
  deformForward,
  diversityMap,
  DMAD,
  dmadPrediction,
  fieldMagnitude,
  quantize,
  resolveDMADConfig,
  smoothnessLoss,
  warpBilinear,
} from "../lib/methods/dmad/mod.ts";
import { VariableStore } from "../lib/methods/layers.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod, methodProblems } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { TrainBatch } from "../lib/methods/types.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await selectBackend({ requested: "wasm", log: false });

const TINY = { codebookSize: 8, offsetChannels: 4 };

function ramp(height: number, width: number): tf.Tensor4D {
  return tf.tensor4d(
    Float32Array.from({ length: height * width }, (_, i) => i + 1),
    [1, height, width, 1],
  );
}

function constantOffsets(height: number, width: number, dy: number, dx: number): tf.Tensor4D {
  return tf.tidy(() =>
    tf.tile(tf.tensor4d([dy, dx], [1, 1, 1, 2]), [1, height, width, 1]) as tf.Tensor4D
  );
}

Deno.test("dmad: warping with zero offsets is the identity, integer offsets shift", () => {
  const f = ramp(3, 4);
  const zero = constantOffsets(3, 4, 0, 0);
  assertEquals([...warpBilinear(f, zero, 2).dataSync()], [...f.dataSync()]);
  // o = (0, 1): each pixel reads its right neighbour; the last column reads zeros.
  const right = warpBilinear(f, constantOffsets(3, 4, 0, 1), 2);
  assertEquals([...right.dataSync()], [2, 3, 4, 0, 6, 7, 8, 0, 10, 11, 12, 0]);
  // o = (-1, 0): each pixel reads the row above; the first row reads zeros.
  const up = warpBilinear(f, constantOffsets(3, 4, -1, 0), 2);
  assertEquals([...up.dataSync()], [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // Hand-computed bilinear: pixel (1, 1) = 6 at o = (0.5, 0.25) samples (1.5, 1.25):
  // 0.5·(0.75·6 + 0.25·7) + 0.5·(0.75·10 + 0.25·11) = 8.25.
  const frac = warpBilinear(f, constantOffsets(3, 4, 0.5, 0.25), 2);
  assertAlmostEquals(frac.dataSync()[5], 8.25, 1e-5);
  assertThrows(() => warpBilinear(f, tf.zeros([1, 3, 4, 1]) as tf.Tensor4D, 2), Error, "offsets");
  // "clamp" (the official grid clamp): the last column reads itself instead of zeros, and a
  // non-integer bound clips the offsets (0.75 of the way to the right neighbour).
  const clamped = warpBilinear(f, constantOffsets(3, 4, 0, 1), 2, "clamp");
  assertEquals([...clamped.dataSync()], [2, 3, 4, 4, 6, 7, 8, 8, 10, 11, 12, 12]);
  const bounded = warpBilinear(f, constantOffsets(3, 4, 0, 1), 0.75, "clamp");
  assertAlmostEquals(bounded.dataSync()[0], 1.75, 1e-5);
  tf.dispose([f, zero, right, up, frac, clamped, bounded]);
});

Deno.test("dmad: the sampler's gradients reach the offsets and the features", () => {
  const f = ramp(3, 4);
  const o = constantOffsets(3, 4, 0.3, -0.4);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(warpBilinear(a as tf.Tensor4D, b as tf.Tensor4D, 1))
  )([f, o]);
  const [gf, go] = g.map((t) => t.dataSync());
  assert(gf.some((v) => v !== 0) && go.some((v) => v !== 0));
  // d/d dx at pixel (1, 1): the sample moves along a row of slope 1 -> derivative 1 (interior).
  assertAlmostEquals(go[(1 * 4 + 1) * 2 + 1], 1, 1e-5);
  // d/d dy at (1, 1): slope 4 per row.
  assertAlmostEquals(go[(1 * 4 + 1) * 2], 4, 1e-5);
  tf.dispose([f, o, ...g]);
});

Deno.test("dmad: the sampler's hand-written gradient equals autodiff of the shift sum", () => {
  // The shift sum written with plain ops (autodiff keeps every shifted copy on the tape).
  const reference = (f: tf.Tensor4D, o: tf.Tensor4D, k: number) => {
    const [b, h, w, c] = f.shape;
    const hat = (t: tf.Tensor, d: number) => tf.relu(tf.sub(1, tf.abs(tf.sub(t, d))));
    const clipped = tf.clipByValue(o, -k, k);
    const oy = tf.slice(clipped, [0, 0, 0, 0], [b, h, w, 1]);
    const ox = tf.slice(clipped, [0, 0, 0, 1], [b, h, w, 1]);
    const padded = tf.pad(f, [[0, 0], [k, k], [k, k], [0, 0]]);
    const terms: tf.Tensor[] = [];
    for (let dy = -k; dy <= k; dy++) {
      for (let dx = -k; dx <= k; dx++) {
        const shifted = tf.slice(padded, [0, k + dy, k + dx, 0], [b, h, w, c]);
        terms.push(tf.mul(tf.mul(hat(oy, dy), hat(ox, dx)), shifted));
      }
    }
    return tf.addN(terms);
  };
  const f = tf.randomNormal([2, 5, 6, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const o = tf.randomUniform([2, 5, 6, 2], -2.4, 2.4, "float32", 8) as tf.Tensor4D;
  const weights = tf.randomNormal([2, 5, 6, 3], 0, 1, "float32", 9);
  const loss =
    (warp: (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor) => (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(warp(a as tf.Tensor4D, b as tf.Tensor4D), weights));
  const ours = tf.grads(loss((a, b) => warpBilinear(a, b, 2)))([f, o]);
  const theirs = tf.grads(loss((a, b) => reference(a, b, 2)))([f, o]);
  const value = warpBilinear(f, o, 2);
  const expected = reference(f, o, 2);
  const close = (a: tf.Tensor, b: tf.Tensor) =>
    assert(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] < 1e-4, "differs from autodiff");
  close(value, expected);
  close(ours[0], theirs[0]);
  close(ours[1], theirs[1]);
  tf.dispose([f, o, weights, value, expected, ...ours, ...theirs]);
});

Deno.test("dmad: the score adds the weighted diversity's max to the residual's max", () => {
  const residual = tf.tidy(() => {
    const v = new Float32Array(16);
    v[5] = 0.8;
    return tf.tensor3d(v, [1, 4, 4]);
  });
  const diversity = tf.tidy(() => {
    const v = new Float32Array(16);
    v[10] = 0.04;
    return tf.tensor3d(v, [1, 4, 4]);
  });
  const { maps, scores } = dmadPrediction(residual, diversity, {
    deformationWeight: 0.05,
    bound: 0.08,
    sigma: 0,
  });
  // Score: max residual 0.8 + 0.05 · 0.04 / 0.08 = 0.825 (the maxima are at different pixels).
  assertAlmostEquals(scores.dataSync()[0], 0.825, 1e-6);
  // Map: pixel-wise sum.
  assertAlmostEquals(maps.dataSync()[5], 0.8, 1e-6);
  assertAlmostEquals(maps.dataSync()[10], 0.025, 1e-6);
  assertThrows(
    () => dmadPrediction(residual, diversity, { deformationWeight: 1, bound: 0 }),
    Error,
    "bound",
  );
  tf.dispose([residual, diversity, maps, scores]);
});

Deno.test("dmad: deformation loss terms on hand-checkable fields", () => {
  // A field that is (0.3, 0.4) at one interior pixel of a 5x5 map and zero elsewhere.
  const field = tf.tidy(() => {
    const v = new Float32Array(5 * 5 * 2);
    v[(2 * 5 + 2) * 2] = 0.3;
    v[(2 * 5 + 2) * 2 + 1] = 0.4;
    return tf.tensor4d(v, [1, 5, 5, 2]);
  });
  // |o| = 0.5 at one pixel of 25.
  assertAlmostEquals(tf.mean(fieldMagnitude(field)).dataSync()[0], 0.5 / 25, 1e-5);
  // Laplacian-like filter summed over channels: centre 0.7, its 8 neighbours -0.7 / 8 each.
  assertAlmostEquals(smoothnessLoss(field).dataSync()[0], (0.7 + 8 * 0.7 / 8) / 25, 1e-6);
  const cells = coordinateChannels(8, 8, 4);
  const c = cells.arraySync()[0];
  // Row 5: cell 1 -> 1; position 5 / 7 - 1 -> fine 2 · (5 / 7 - 1) - 1.
  assertAlmostEquals(c[5][0][1], 1, 1e-6);
  assertAlmostEquals(c[5][0][0], 2 * (5 / 7 - 1) - 1, 1e-6);
  assertAlmostEquals(c[0][6][3], 1, 1e-6);
  assertThrows(() => coordinateChannels(6, 8, 4), Error, "multiple");
  tf.dispose([field, cells]);
});

Deno.test("dmad: a one-pixel shift and its inverse: restoration error, magnitude, diversity", () => {
  const store = new VariableStore("t", 0);
  const module = createPreDeformation(store, "offset", {
    channels: 2,
    coarseBound: 0.5,
    fineBound: 0.25,
    cellSize: 2,
  });
  // 4 x 5 ramp, +1 per column; one pixel in x is 2 / (5 - 1) = 0.5 normalised units.
  const x = tf.tidy(() =>
    tf.tile(tf.reshape(tf.range(0, 5, 1, "float32"), [1, 1, 5, 1]), [1, 4, 1, 1]) as tf.Tensor4D
  );
  const field = (dx: number) => constantOffsets(4, 5, 0, dx);
  const fields = {
    coarse: field(0.5),
    fine: field(0),
    coarseInverse: field(-0.5),
    fineInverse: field(0),
  };
  const deformed = deformForward(module, x, fields);
  // Each pixel reads its right neighbour; the last column is clamped to itself.
  assertEquals([...deformed.dataSync()].slice(0, 5), [1, 2, 3, 4, 4]);
  const loss = deformationLoss(module, x, deformed, fields, 2);
  // Restored: column 0 reads the clamped deformed column 0 (= 1 instead of 0): 4 errors of 1
  // over 20 pixels, times the weight 2.
  assertAlmostEquals(loss.inverse.dataSync()[0], 2 * 4 / 20, 1e-6);
  assertAlmostEquals(loss.magnitude.dataSync()[0], 0.5, 1e-5);
  const diversity = diversityMap(module, fields);
  assert(diversity.dataSync().every((v) => Math.abs(v - 0.5) < 1e-5));
  tf.dispose([x, deformed, diversity, ...Object.values(fields), ...Object.values(loss)]);
  store.dispose();
});

Deno.test("dmad: the vector quantiser picks the nearest codeword, its loss and gradients", () => {
  const store = new VariableStore("t", 0);
  const vq = createVectorQuantizer(store, "vq", 2, 2, 0.25);
  vq.codebook.assign(tf.tensor2d([[0, 0], [1, 1]]));
  const z = tf.tensor4d([0.9, 1.2, 0.1, -0.1], [1, 1, 2, 2]);
  const { quantized, loss } = quantize(vq, z);
  // Straight-through: the forward value is the codeword.
  [1, 1, 0, 0].forEach((v, i) => assertAlmostEquals(quantized.dataSync()[i], v, 1e-6));
  // Squared errors 0.01 + 0.04 + 0.01 + 0.01 = 0.07 over 4 values; (1 + 0.25) · 0.0175.
  assertAlmostEquals(loss.dataSync()[0], 1.25 * 0.07 / 4, 1e-6);
  const grads = tf.grads((input: tf.Tensor) =>
    tf.sum(quantize(vq, input as tf.Tensor4D).quantized)
  )(
    [z],
  );
  // d sum(q) / dz = 1 (straight-through), plus nothing from the argmin.
  assert(grads[0].dataSync().every((v) => Math.abs(v - 1) < 1e-6));
  const { grads: codebookGrads, value } = tf.variableGrads(
    () => quantize(vq, z).loss,
    [vq.codebook],
  );
  // Only the codebook term reaches the codebook: d/de mean((e - z)²) = 2 (e - z) / 4.
  assertEquals(
    [...codebookGrads[vq.codebook.name].dataSync()].map((v) => Math.round(v * 1e4) / 1e4),
    [-0.05, 0.05, 0.05, -0.1],
  );
  tf.dispose([z, quantized, loss, ...grads, value, ...Object.values(codebookGrads)]);
  store.dispose();
});

Deno.test("dmad: shapes, registry, config errors", () => {
  const backbone = createFakeBackbone([8, 16, 32], 1);
  const method = createMethod("dmad", backbone, TINY, 0) as DMAD;
  const images = randomImages(2, 32, 1);
  const { maps, scores } = method.predict(images);
  assertEquals(maps.shape, [2, 32, 32]);
  assertEquals(scores.shape, [2]);
  const compact = method.compactFeatures(images);
  assertEquals(compact.shape, [2, 64]);
  const pass = method.reconstruct(images);
  for (const field of Object.values(pass.fields)) assertEquals(field.shape, [2, 32, 32, 2]);
  assertEquals(pass.deformed.shape, [2, 32, 32, 3]);
  assertEquals(pass.decoder.map((w) => w.shape), pass.encoder.map((e) => e.shape));
  // Fields stay within their bounds (coarse 8/256·2, fine 3/256·2 of the grid).
  const coarse = tf.max(tf.abs(pass.fields.coarse)).dataSync()[0];
  const fine = tf.max(tf.abs(pass.fields.fine)).dataSync()[0];
  assert(coarse > 0 && coarse <= 16 / 256 && fine > 0 && fine <= 6 / 256, `${coarse} ${fine}`);
  const names = [...method.namedVariables().keys()];
  assert(names.includes("dmad.bn.vq3.codebook") && names.includes("dmad.offset.coarse.out.weight"));
  assert(names.includes("dmad.decoder.layer1.0.upsample.0.weight"));
  assertEquals(method.parameterGroups()[0].optimizer?.kind, "adamw");
  tf.dispose([compact, pass.deformed, pass.embedding, ...pass.encoder, ...pass.decoder]);
  tf.dispose(Object.values(pass.fields));
  tf.dispose([images, maps, scores]);
  method.dispose();
  backbone.dispose();
  assertThrows(() => resolveDMADConfig("x", { codebokSize: 3 }), Error, "codebokSize");
  assertThrows(() => resolveDMADConfig("x", { coarseOffset: 0 }), Error, "coarseOffset");
  assertThrows(() => resolveDMADConfig("x", { reducedChannels: 1.5 }), Error, "reducedChannels");
  assertEquals(methodProblems("dmad", { imageSize: 48, architecture: "x" }).length, 1);
});

Deno.test("dmad: a few steps lower the loss without tensor growth; CCL wraps it", async () => {
  const backbone = createFakeBackbone([8, 16, 32], 2);
  const method = new DMAD(backbone, { ...TINY, learningRate: 1e-2 }, 1);
  const trainer = createTrainer(methodObjective(method), { totalSteps: 100 });
  const batch: TrainBatch = { images: randomImages(2, 32, 3), classIds: new Int32Array(2) };
  const first = await trainer.step(batch);
  assertEquals(Object.keys(first).sort(), [
    "method",
    "method.inverse",
    "method.magnitude",
    "method.reconstruction",
    "method.smoothness",
    "method.vq",
    "total",
  ]);
  const tensors = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 5; i++) {
    last = await trainer.step(batch);
    assertEquals(tf.memory().numTensors, tensors, `step ${i + 2} leaked tensors`);
  }
  assert(last.total < first.total, `${first.total} -> ${last.total}`);
  assert(
    last["method.reconstruction"] < first["method.reconstruction"],
    `reconstruction ${first["method.reconstruction"]} -> ${last["method.reconstruction"]}`,
  );
  trainer.dispose();

  const ccl = cclObjective(method, {}, 0);
  assertEquals(ccl.name, "dmad+ccl");
  const cclTrainer = createTrainer(ccl, { totalSteps: 10 });
  const augmented = tf.reverse(batch.images, 2) as tf.Tensor4D;
  const cclBatch: TrainBatch = {
    images: batch.images,
    augmented,
    classIds: Int32Array.from([0, 1]),
  };
  const losses = await cclTrainer.step(cclBatch);
  for (const key of ["global", "local", "method.reconstruction"]) {
    assert(Number.isFinite(losses[key]), `${key} = ${losses[key]}`);
  }
  const after = tf.memory().numTensors;
  await cclTrainer.step(cclBatch);
  assertEquals(tf.memory().numTensors, after, "CCL step leaked tensors");
  const prediction = ccl.predict(batch.images);
  assertEquals(prediction.maps.shape, [2, 32, 32]);
  tf.dispose([prediction.maps, prediction.scores, augmented, batch.images]);
  cclTrainer.dispose();
  ccl.dispose();
  method.dispose();
  backbone.dispose();
});

Deno.test("dmad: the reconstruction loss reaches the offset network through the frozen encoder", () => {
  const backbone = createFakeBackbone([8, 16, 32], 2);
  const method = new DMAD(backbone, TINY, 3);
  const images = randomImages(2, 32, 4);
  const head = method.namedVariables().get("dmad.offset.coarse.out.weight")!;
  const stem = method.namedVariables().get("dmad.offset.stem0.weight")!;
  let rest: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = method.forward({ images, classIds: new Int32Array(2) }, { computeLoss: true });
    const reconstruction = out.components!.reconstruction;
    rest = [out.loss!, ...Object.values(out.components!), ...out.dense, ...out.matching];
    rest.push(out.compact);
    return tf.clone(reconstruction) as tf.Scalar;
  }, [head, stem]);
  for (const v of [head, stem]) {
    assert(grads[v.name].dataSync().some((g) => g !== 0), `no gradient to ${v.name}`);
  }
  tf.dispose([value, ...Object.values(grads), images]);
  tf.dispose([...new Set(rest)]);
  method.dispose();
  backbone.dispose();
});

Deno.test("dmad: the runner resumes a DMAD run bit-exactly", async () => {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-dmad-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 4,
    testGoodPerClass: 2,
    testBadPerClass: 2,
    classes: ["woven", "pill"],
  });
  const quiet = { progress: "silent" as const, log: () => {} };
  const config = {
    name: "tiny",
    method: "dmad",
    methodOptions: TINY,
    data: { root },
    imageSize: 32,
    epochs: 2,
    batchSize: 4,
    backend: "wasm",
    seed: 2,
  };
  const whole = await runExperiment(config, { ...quiet, resultsDir: await Deno.makeTempDir() });
  const results = await Deno.makeTempDir();
  const controller = new AbortController();
  await assertRejects(() =>
    runExperiment(config, {
      ...quiet,
      resultsDir: results,
      signal: controller.signal,
      onEpoch: (entry) => {
        if (entry.epoch === 1) controller.abort();
      },
    })
  );
  const resumed = await runExperiment(config, { ...quiet, resultsDir: results, resume: true });
  assertEquals(resumed.units[0].resumedFromEpoch, 1);
  assertEquals(Object.values(resumed.mean), Object.values(whole.mean));
});
