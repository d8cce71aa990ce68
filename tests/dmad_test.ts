import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { cclObjective } from "../lib/ccl/mod.ts";
import {
  DMAD,
  dmadAnomalyMap,
  maxScores,
  resolveDMADConfig,
  upsampleNearest2x,
  warpBilinear,
} from "../lib/methods/dmad/mod.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod, methodProblems } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { TrainBatch } from "../lib/methods/types.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await selectBackend({ requested: "wasm", log: false });

const TINY = { memorySize: 8, offsetHiddenChannels: 4 };

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
  const up2 = upsampleNearest2x(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]));
  assertEquals([...up2.dataSync()], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  assertThrows(() => warpBilinear(f, tf.zeros([1, 3, 4, 1]) as tf.Tensor4D, 2), Error, "offsets");
  tf.dispose([f, zero, right, up, frac, up2]);
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

Deno.test("dmad: anomaly map adds the deformation magnitude; score is the maximum", () => {
  const target = [tf.ones([1, 4, 4, 2]) as tf.Tensor4D];
  const offsets = tf.tidy(() => {
    const values = new Float32Array(4 * 4 * 2);
    values[(2 * 4 + 1) * 2 + 1] = 2; // |o| = maxOffset at (2, 1)
    return [tf.tensor4d(values, [1, 4, 4, 2])];
  });
  const map = dmadAnomalyMap(target, target, offsets, [4, 4], {
    deformationWeight: 0.5,
    maxOffset: 2,
    sigma: 0,
  });
  const values = map.dataSync();
  assertAlmostEquals(values[2 * 4 + 1], 0.5, 1e-5);
  assertAlmostEquals(values[0], 0, 1e-5);
  assertAlmostEquals(maxScores(map).dataSync()[0], 0.5, 1e-5);
  // An orthogonal reconstruction gives residual 1 everywhere.
  const other = [tf.concat([tf.ones([1, 4, 4, 1]), tf.fill([1, 4, 4, 1], -1)], 3) as tf.Tensor4D];
  const zero = [tf.zeros([1, 4, 4, 2]) as tf.Tensor4D];
  const residual = dmadAnomalyMap(target, other, zero, [8, 8], {
    deformationWeight: 1,
    maxOffset: 2,
    sigma: 0,
  });
  assertEquals(residual.shape, [1, 8, 8]);
  assert(residual.dataSync().every((v) => Math.abs(v - 1) < 1e-5));
  tf.dispose([...target, ...offsets, ...other, ...zero, map, residual]);
});

Deno.test("dmad: shapes, registry, config errors", () => {
  const backbone = createFakeBackbone([8, 16, 32], 1);
  const method = createMethod("dmad", backbone, TINY, 0) as DMAD;
  const images = randomImages(2, 32, 1);
  const { maps, scores } = method.predict(images);
  assertEquals(maps.shape, [2, 32, 32]);
  assertEquals(scores.shape, [2]);
  assertEquals(method.compactFeatures(images).shape, [2, 64]);
  const pass = method.reconstruct(images);
  assertEquals(pass.offsets.map((o) => o.shape), [[2, 8, 8, 2], [2, 4, 4, 2], [2, 2, 2, 2]]);
  assertEquals(pass.warped.map((w) => w.shape), pass.encoder.map((e) => e.shape));
  // Zero-initialised offset heads: the untrained warp is the identity.
  for (const o of pass.offsets) assert(o.dataSync().every((v) => v === 0));
  const names = [...method.namedVariables().keys()];
  assert(names.includes("dmad.memory.prototypes") && names.includes("dmad.pdm.2.out.weight"));
  assert(names.includes("dmad.decoder.layer1.0.upsample.0.weight"));
  tf.dispose(Object.values(pass).flat());
  tf.dispose([images, maps, scores]);
  method.dispose();
  backbone.dispose();
  assertThrows(() => resolveDMADConfig("x", { memmorySize: 3 }), Error, "memmorySize");
  assertThrows(() => resolveDMADConfig("x", { maxOffset: 1.5 }), Error, "maxOffset");
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
    "method.deformation",
    "method.entropy",
    "method.reconstruction",
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
  // The gradient reached the deformation heads: the warp is no longer the identity.
  const moved = method.reconstruct(batch.images);
  assert(moved.offsets.some((o) => o.dataSync().some((v) => v !== 0)), "offsets still zero");
  tf.dispose(Object.values(moved).flat());

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
