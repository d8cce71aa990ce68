import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { selectBackend } from "../lib/backend/select_backend.ts";
import {
  binaryFocalLoss,
  DeSTSeg,
  destsegCosineLoss,
  resolveDeSTSegConfig,
} from "../lib/methods/destseg/mod.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { TrainBatch } from "../lib/methods/types.ts";
import { mulberry32 } from "../lib/util/random.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await selectBackend({ requested: "wasm", log: false });

const TINY = { segWidth: 8 };

function destsegBatch(method: DeSTSeg, count: number, size: number, seed: number): TrainBatch {
  const images = tf.tidy(() => tf.sigmoid(randomImages(count, size, seed))) as tf.Tensor4D;
  const synthetic = method.prepareBatch(
    { images: images.dataSync() as Float32Array, shape: [count, size, size] },
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

Deno.test("destseg: losses on hand-checkable inputs", () => {
  const t = tf.tensor4d([1, 0, 0, 1], [1, 1, 2, 2]);
  // Pixel 1: cosine 1; pixel 2: orthogonal -> 1; sum 1 over area 2.
  const s = tf.tensor4d([2, 0, 1, 0], [1, 1, 2, 2]);
  assertAlmostEquals(destsegCosineLoss([t], [s]).dataSync()[0], 0.5, 1e-6);
  const p = tf.tensor1d([0.5]);
  // BCE ln 2 times (1 - 0.5)^4.
  assertAlmostEquals(binaryFocalLoss(p, tf.tensor1d([1]), 4).dataSync()[0], Math.LN2 / 16, 1e-6);
  tf.dispose([t, s, p]);
  assertThrows(() => resolveDeSTSegConfig("x", { segwidth: 2 }), Error, "unknown DeSTSeg");
});

Deno.test("destseg: shapes, two phases, each phase's loss falls, no tensor growth", async () => {
  const backbone = createFakeBackbone([8, 16, 32], 2);
  const method = new DeSTSeg(backbone, {
    ...TINY,
    learningRate: 0.01,
    learningRateRes: 0.05,
    studentShare: 0.5,
  }, 0);
  const images = tf.tidy(() => tf.sigmoid(randomImages(2, 32, 1))) as tf.Tensor4D;
  const prediction = method.predict(images);
  assertEquals(prediction.maps.shape, [2, 32, 32]);
  assertEquals(prediction.scores.shape, [2]);
  assertEquals(method.compactFeatures(images).shape, [2, 64]);
  tf.dispose([images, prediction.maps, prediction.scores]);

  const totalSteps = 12;
  const trainer = createTrainer(methodObjective(method), { totalSteps, phases: method.phases() });
  assertEquals(trainer.phaseAt(0), "student");
  assertEquals(trainer.phaseAt(5), "student");
  assertEquals(trainer.phaseAt(6), "segmentation");
  const batch = destsegBatch(method, 4, 64, 3);
  const seen: Record<string, number>[] = [];
  let tensors = -1;
  for (let step = 0; step < totalSteps; step++) {
    method.beginStep({ step, totalSteps, phase: trainer.phaseAt(step) });
    const losses = await trainer.step(batch);
    assertEquals(Object.keys(losses).sort(), [
      "method",
      "method.cosine",
      "method.focal",
      "method.l1",
      "total",
    ]);
    seen.push(losses);
    // The optimiser state of each phase's groups appears at the phase's first step.
    if (step === 0 || step === 6) tensors = tf.memory().numTensors;
    else assertEquals(tf.memory().numTensors, tensors, `step ${step} leaked`);
  }
  // Student phase (steps 0-5 of 12 at share 0.5): the loss is the cosine term, falling.
  assertEquals(seen[0].total, seen[0]["method.cosine"]);
  assert(seen[5]["method.cosine"] < seen[0]["method.cosine"], "cosine falls");
  // Head phase: focal + L1, falling; the student no longer changes.
  assertAlmostEquals(seen[7].total, seen[7]["method.focal"] + seen[7]["method.l1"], 1e-5);
  assertEquals(seen[11]["method.cosine"], seen[7]["method.cosine"]);
  assert(seen[11].total < seen[6].total, `head loss ${seen[6].total} -> ${seen[11].total}`);
  trainer.dispose();
  tf.dispose([batch.images, batch.synthetic!.images, batch.synthetic!.masks]);
  method.dispose();
});
