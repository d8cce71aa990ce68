/**
 * The trainer frees memory during the backward pass by default (`freeBackward`): every method,
 * with and without CCL, must take exactly the steps it takes with TF.js's engine untouched.
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals } from "@std/assert";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { cclObjective } from "../lib/ccl/ccl_objective.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod, METHOD_NAMES } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { TrainBatch } from "../lib/methods/types.ts";
import { mulberry32 } from "../lib/util/random.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await selectBackend({ requested: "wasm", log: false });

const TINY: Record<string, Record<string, unknown>> = {
  rd: {},
  destseg: { segWidth: 8 },
  draem: { reconstructiveWidth: 4, discriminativeWidth: 4 },
  dmad: { codebookSize: 8, offsetChannels: 4 },
};
const SIZE = 32;
const COUNT = 4;

/** Two steps from a fresh model; the losses and every variable afterwards. */
async function twoSteps(name: string, ccl: boolean, freeBackward: boolean) {
  const backbone = createFakeBackbone([8, 16, 32], 2);
  const method = createMethod(name, backbone, TINY[name], 3);
  const wrapped = ccl ? cclObjective(method, {}, 3) : undefined;
  const objective = wrapped ?? methodObjective(method);
  const trainer = createTrainer(objective, { clipNorm: 5, freeBackward });
  const images = randomImages(COUNT, SIZE, 5);
  const unit = tf.tidy(() => tf.sigmoid(images));
  const made = method.prepareBatch?.(
    { images: await unit.data() as Float32Array, shape: [COUNT, SIZE, SIZE] },
    mulberry32(7),
  );
  const batch: TrainBatch = {
    images,
    augmented: randomImages(COUNT, SIZE, 6),
    classIds: Int32Array.from([0, 0, 1, 1]),
    synthetic: made
      ? {
        images: tf.tensor4d(made.images, [COUNT, SIZE, SIZE, 3]),
        masks: tf.tensor4d(made.masks, [COUNT, SIZE, SIZE, 1]),
      }
      : undefined,
  };
  const losses: Record<string, number>[] = [];
  const { peakBytes } = await tf.profile(async () => {
    losses.push(await trainer.step(batch));
  });
  const tensors = tf.memory().numTensors;
  losses.push(await trainer.step(batch));
  assertEquals(tf.memory().numTensors, tensors, `${name}: the second step leaked tensors`);
  const variables: Record<string, number[]> = {};
  for (const [key, variable] of objective.namedVariables()) {
    variables[key] = [...await variable.data()];
  }
  trainer.dispose();
  wrapped?.dispose();
  method.dispose();
  backbone.dispose();
  tf.dispose([unit, batch.images, batch.augmented!]);
  if (batch.synthetic) tf.dispose([batch.synthetic.images, batch.synthetic.masks]);
  return { losses, variables, peakBytes };
}

for (const name of METHOD_NAMES) {
  for (const ccl of [false, true]) {
    Deno.test(`trainer: freeing during the backward pass changes no number (${name}${ccl ? " + CCL" : ""})`, async () => {
      const freed = await twoSteps(name, ccl, true);
      const plain = await twoSteps(name, ccl, false);
      assertEquals(freed.losses, plain.losses);
      assertEquals(freed.variables, plain.variables);
      assert(freed.peakBytes < plain.peakBytes, `peak ${freed.peakBytes} vs ${plain.peakBytes} B`);
    });
  }
}
