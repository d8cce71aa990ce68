import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { clipByGlobalNorm, createTrainer, globalNorm } from "../lib/methods/trainer.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod } from "../lib/methods/registry.ts";
import type { Objective, ParameterGroup, TrainBatch } from "../lib/methods/types.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await tf.setBackend("cpu");
await tf.ready();

/** A toy objective over explicit groups: total = Σ_group Σ coefficient · w. */
function linearObjective(groups: ParameterGroup[], coefficients: tf.Tensor[]): Objective {
  return {
    name: "toy",
    needsAugmentedView: false,
    parameterGroups: () => groups,
    namedVariables: () => new Map(groups.flatMap((g) => g.variables.map((v) => [v.name, v]))),
    losses: () => {
      const parts = groups.flatMap((g) => g.variables).map((v, i) =>
        tf.sum(tf.mul(v, coefficients[i]))
      );
      const total = tf.addN(parts) as tf.Scalar;
      return { first: parts[0] as tf.Scalar, total };
    },
    predict: () => {
      throw new Error("the toy objective does not predict");
    },
    compactFeatures: () => {
      throw new Error("the toy objective has no compact features");
    },
  };
}

const dummyBatch: TrainBatch = { images: tf.zeros([1, 1, 1, 1]), classIds: new Int32Array([0]) };

Deno.test("trainer: RD steps lower the loss and leak no tensors", async () => {
  const backbone = createFakeBackbone([8, 16, 32], 2);
  const method = createMethod("rd", backbone, {}, 3);
  const trainer = createTrainer(methodObjective(method));
  const batch: TrainBatch = {
    images: randomImages(4, 32, 5),
    classIds: new Int32Array([0, 0, 1, 1]),
  };
  const first = await trainer.step(batch);
  assertEquals(Object.keys(first).sort(), ["method", "total"]);
  assertEquals(first.method, first.total);
  assert(Number.isFinite(trainer.lastGradNorm) && trainer.lastGradNorm > 0);
  const tensorsAfterFirst = tf.memory().numTensors;
  let last = first.total;
  for (let i = 0; i < 15; i++) {
    last = (await trainer.step(batch)).total;
    assertEquals(tf.memory().numTensors, tensorsAfterFirst, `step ${i + 2} leaked tensors`);
  }
  assertEquals(trainer.steps, 16);
  assert(last < 0.7 * first.total, `loss ${first.total} -> ${last}`);
  trainer.dispose();
  method.dispose();
  backbone.dispose();
  tf.dispose(batch.images);
});

Deno.test("clipByGlobalNorm caps the global norm and leaves small gradients alone", () => {
  tf.tidy(() => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) };
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    assertAlmostEquals(norm.dataSync()[0], 5, 1e-6);
    assertAlmostEquals(globalNorm(Object.values(clipped)).dataSync()[0], 1, 1e-5);
    assertAlmostEquals(clipped.a.dataSync()[0], 0.6, 1e-5);
    assertAlmostEquals(clipped.b.dataSync()[1], 0.8, 1e-5);
    const untouched = clipByGlobalNorm(grads, 10).grads;
    assertEquals(Array.from(untouched.a.dataSync()), [3, 0]);
  });
  assertThrows(() => clipByGlobalNorm({}, 0), Error, "clipNorm must be > 0");
});

Deno.test("trainer clips the gradient it applies", async () => {
  // With a huge Adam epsilon the first update is lr · g / epsilon, proportional to the
  // applied gradient, so its size shows whether clipping happened.
  const run = async (clipNorm: number | undefined) => {
    const w = tf.variable(tf.zeros([2]));
    const coefficient = tf.tensor1d([60, 80]); // gradient norm 100
    const objective = linearObjective([{
      name: "g",
      variables: [w],
      learningRate: 1,
      optimizer: { kind: "adam", beta1: 0.5, beta2: 0.999, epsilon: 1e6 },
    }], [coefficient]);
    const trainer = createTrainer(objective, { clipNorm });
    await trainer.step(dummyBatch);
    const delta = Array.from(w.dataSync());
    const norm = trainer.lastGradNorm;
    trainer.dispose();
    tf.dispose([w, coefficient]);
    return { delta, norm };
  };
  const clipped = await run(5);
  const free = await run(undefined);
  assertAlmostEquals(clipped.norm, 100, 1e-3);
  assertAlmostEquals(free.norm, 100, 1e-3);
  // Adam's bias-corrected first step: Δ = -lr · g / (|g| + ε) ≈ -g / 1e6.
  assertAlmostEquals(Math.hypot(...clipped.delta), 5 / 1e6, 1e-8);
  assertAlmostEquals(Math.hypot(...free.delta), 100 / 1e6, 1e-7);
  assert(clipped.delta.every((d) => d < 0));
});

Deno.test("trainer: each parameter group uses its own learning rate", async () => {
  const slow = tf.variable(tf.zeros([3]));
  const fast = tf.variable(tf.zeros([3]));
  const coefficients = [tf.tensor1d([1, -2, 3]), tf.tensor1d([-1, 1, 5])];
  const objective = linearObjective([
    { name: "slow", variables: [slow], learningRate: 1e-3 },
    { name: "fast", variables: [fast], learningRate: 5e-2 },
  ], coefficients);
  const trainer = createTrainer(objective);
  const losses = await trainer.step(dummyBatch);
  assertEquals(Object.keys(losses).sort(), ["first", "total"]);
  // Adam's first step moves every weight by about lr against its gradient's sign.
  const expectStep = (v: tf.Variable, c: tf.Tensor, lr: number) => {
    const values = v.dataSync();
    c.dataSync().forEach((g, i) => assertAlmostEquals(values[i], -Math.sign(g) * lr, lr * 1e-4));
  };
  expectStep(slow, coefficients[0], 1e-3);
  expectStep(fast, coefficients[1], 5e-2);
  trainer.dispose();
  tf.dispose([slow, fast, ...coefficients]);
});

Deno.test("trainer rejects bad groups and missing augmented views", async () => {
  const w = tf.variable(tf.zeros([1]));
  const c = tf.ones([1]);
  assertThrows(
    () =>
      createTrainer(linearObjective([
        { name: "a", variables: [w], learningRate: 1e-3 },
        { name: "b", variables: [w], learningRate: 1e-3 },
      ], [c, c])),
    Error,
    "more than one group",
  );
  assertThrows(
    () => createTrainer(linearObjective([{ name: "a", variables: [w], learningRate: 0 }], [c])),
    Error,
    "learning rate 0",
  );
  const needsViews: Objective = {
    ...linearObjective([{ name: "a", variables: [w], learningRate: 1e-3 }], [c]),
    needsAugmentedView: true,
  };
  const trainer = createTrainer(needsViews);
  await assertRejects(() => trainer.step(dummyBatch), Error, "needs batch.augmented");
  trainer.dispose();
  tf.dispose([w, c]);
});
