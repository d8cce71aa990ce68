/**
 * Training and inference speed of the demo's models on the selected backend (`CCL_BACKEND`,
 * default the best available): one RD step, one RD + CCL step and RD inference, batch 16,
 * 64x64, the shipped small_resnet backbone.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import { cclObjective } from "../lib/ccl/ccl_objective.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

await selectBackend();
const backbone = await loadBackbone("small_resnet");
const batchSize = 16;
const size = 64;
const rng = mulberry32(1);
const values = () =>
  Float32Array.from({ length: batchSize * size * size * 3 }, () => randomNormal(rng));
const images = tf.tensor4d(values(), [batchSize, size, size, 3]);
const augmented = tf.tensor4d(values(), [batchSize, size, size, 3]);
const classIds = Int32Array.from({ length: batchSize }, (_, i) => i % 4);

const rd = createMethod("rd", backbone, {}, 0);
const rdTrainer = createTrainer(methodObjective(rd), { clipNorm: 5 });
const rdForCcl = createMethod("rd", backbone, {}, 0);
const ccl = cclObjective(rdForCcl, {}, 0);
const cclTrainer = createTrainer(ccl, { clipNorm: 5 });

Deno.bench("RD train step, batch 16, 64x64, small_resnet", { group: "train" }, async () => {
  await rdTrainer.step({ images, classIds });
});
Deno.bench("RD + CCL train step, batch 16, 64x64, small_resnet", { group: "train" }, async () => {
  await cclTrainer.step({ images, augmented, classIds });
});
Deno.bench("RD predict, batch 16, 64x64 (maps + scores)", async () => {
  const { maps, scores } = rd.predict(images);
  await maps.data();
  tf.dispose([maps, scores]);
});
