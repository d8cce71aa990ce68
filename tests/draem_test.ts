import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { DRAEM, focalLoss, resolveDRAEMConfig, ssim } from "../lib/methods/draem/mod.ts";
import { acceptImageNetInput } from "../lib/methods/normalized_method.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { TrainBatch } from "../lib/methods/types.ts";
import { mulberry32 } from "../lib/util/random.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { randomImages } from "./_fake_backbone.ts";

await selectBackend({ requested: "wasm", log: false });

const TINY = { reconstructiveWidth: 4, discriminativeWidth: 4, learningRate: 1e-3 };

/** A batch of [0, 1] images with DRAEM's own synthetic anomalies. */
function draemBatch(method: DRAEM, count: number, size: number, seed: number): TrainBatch {
  const images = tf.tidy(() => tf.sigmoid(randomImages(count, size, seed))) as tf.Tensor4D;
  const raw = images.dataSync() as Float32Array;
  const synthetic = method.prepareBatch(
    { images: raw, shape: [count, size, size] },
    mulberry32(seed),
  );
  return {
    images,
    classIds: new Int32Array(count),
    synthetic: {
      images: tf.tensor4d(synthetic.images, [count, size, size, 3]),
      masks: tf.tensor4d(synthetic.masks, [count, size, size, 1]),
    },
  };
}

Deno.test("draem: SSIM of an image with itself is 1 and drops with noise", () => {
  const x = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const noisy = tf.clipByValue(
    tf.add(x, tf.randomNormal([1, 16, 16, 3], 0, 0.3, "float32", 2)),
    0,
    1,
  ) as tf.Tensor4D;
  assertAlmostEquals(ssim(x, x).dataSync()[0], 1, 1e-5);
  assert(ssim(x, noisy).dataSync()[0] < 0.9);
  tf.dispose([x, noisy]);
});

Deno.test("draem: focal loss on hand-checkable probabilities", () => {
  const half = tf.tensor4d([0.5, 0.5], [1, 1, 1, 2]);
  // (1 - 0.5)^2 · -ln 0.5 (smoothing shifts it by ~1e-5).
  assertAlmostEquals(focalLoss(half, tf.zeros([1, 1, 1, 1])).dataSync()[0], 0.25 * Math.LN2, 1e-4);
  const right = tf.tensor4d([0.1, 0.9], [1, 1, 1, 2]);
  assertAlmostEquals(
    focalLoss(right, tf.ones([1, 1, 1, 1])).dataSync()[0],
    0.01 * -Math.log(0.9),
    1e-4,
  );
  tf.dispose([half, right]);
});

Deno.test("draem: output shapes, scores from the mean-filtered map, config errors", () => {
  const method = new DRAEM(TINY, 0);
  const images = tf.tidy(() => tf.sigmoid(randomImages(2, 32, 3))) as tf.Tensor4D;
  const { maps, scores } = method.predict(images);
  assertEquals(maps.shape, [2, 32, 32]);
  assertEquals(scores.shape, [2]);
  const values = maps.dataSync();
  assert(values.every((v) => v >= 0 && v <= 1), "probabilities");
  assertEquals(method.compactFeatures(images).shape, [2, 32]);
  tf.dispose([images, maps, scores]);
  method.dispose();
  assertThrows(() => resolveDRAEMConfig({ widht: 3 }), Error, 'unknown DRAEM config key "widht"');
  assertThrows(() => resolveDRAEMConfig({ scoreFilterSize: 4 }), Error, "odd");
});

Deno.test("draem: a few steps lower each loss and leak no tensors", async () => {
  const method = new DRAEM({ ...TINY, learningRate: 1e-2 }, 1);
  const trainer = createTrainer(methodObjective(method), { totalSteps: 100 });
  const batch = draemBatch(method, 2, 32, 7);
  const first = await trainer.step(batch);
  assertEquals(Object.keys(first).sort(), [
    "method",
    "method.focal",
    "method.l2",
    "method.ssim",
    "total",
  ]);
  assertAlmostEquals(
    first.total,
    first["method.l2"] + first["method.ssim"] + first["method.focal"],
    1e-4,
  );
  const tensors = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 8; i++) {
    last = await trainer.step(batch);
    assertEquals(tf.memory().numTensors, tensors, `step ${i + 2} leaked tensors`);
  }
  for (const key of ["method.l2", "method.ssim", "method.focal"]) {
    assert(last[key] < first[key], `${key}: ${first[key]} -> ${last[key]}`);
  }
  trainer.dispose();
  tf.dispose([batch.images, batch.synthetic!.images, batch.synthetic!.masks]);
  method.dispose();
});

Deno.test("draem: the ImageNet view hands DRAEM [0, 1] images", () => {
  const method = new DRAEM(TINY, 2);
  const view = acceptImageNetInput(method);
  assertEquals(view.inputNormalization, "imagenet");
  const unit = tf.tidy(() => tf.sigmoid(randomImages(1, 32, 4))) as tf.Tensor4D;
  const imagenet = tf.tidy(() =>
    tf.div(tf.sub(unit, tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225]))
  ) as tf.Tensor4D;
  const direct = method.predict(unit).maps.dataSync();
  const viaView = view.predict(imagenet).maps.dataSync();
  for (let i = 0; i < direct.length; i += 37) assertAlmostEquals(direct[i], viaView[i], 1e-5);
  tf.dispose([unit, imagenet]);
  method.dispose();
});
