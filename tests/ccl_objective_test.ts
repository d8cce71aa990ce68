import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Registers TF.js's gradient functions (tfjs-core alone has none).
import "../lib/backend/register_gradients.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import { type CCLObjective, cclObjective, PROJECTOR_GROUP } from "../lib/ccl/mod.ts";
import type {
  AnomalyMethod,
  ForwardOptions,
  ForwardOutput,
  ParameterGroup,
  Prediction,
  PredictOptions,
  TrainBatch,
} from "../lib/methods/types.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

await tf.setBackend("cpu");
await tf.ready();

const CHANNELS = [8, 12] as const;

function seededTensor(shape: number[], seed: number, std = 1): tf.Tensor {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => std * randomNormal(rng)), shape);
}

/** What a forward call was asked and produced, for the tests to inspect. */
interface ForwardRecord {
  computeLoss: boolean;
  hadAdapter: boolean;
  /** The frozen features the adapter received, copied. */
  frozen: Float32Array[];
  /** The dense features returned, copied. */
  dense: Float32Array[];
}

/**
 * A tiny stand-in for RD: a fixed random two-stage conv "encoder" (frozen, 8 and 12 channels at
 * strides 2 and 4), an optional feature adapter between encoder and the trainable part, and a
 * trainable 1x1 conv per scale that must reconstruct the frozen features (loss: mean 1 - cosine
 * over channels). `dense` = the adapted features (as RD returns its projected features) or, for
 * a method that refuses adapters, the trainable convs' outputs; `compact` = pooled outputs.
 */
class FakeMethod implements AnomalyMethod {
  readonly name = "fake";
  readonly inputNormalization = "imagenet" as const;
  readonly lossComponents: readonly string[] = [];
  readonly frozenChannels = CHANNELS;
  readonly records: ForwardRecord[] = [];
  private readonly encoder: tf.Tensor4D[];
  private readonly heads: tf.Variable[];

  constructor(seed: number, readonly acceptsFeatureAdapter = true) {
    this.encoder = [
      seededTensor([3, 3, 3, CHANNELS[0]], seed, 0.5) as tf.Tensor4D,
      seededTensor([3, 3, CHANNELS[0], CHANNELS[1]], seed + 1, 0.3) as tf.Tensor4D,
    ];
    this.heads = CHANNELS.map((c, s) =>
      tf.variable(
        seededTensor([1, 1, c, c], seed + 10 + s, 0.3),
        true,
        `fake_${seed}_${s}_${fakeCount}`,
      )
    );
    fakeCount++;
  }

  private frozen(images: tf.Tensor4D): tf.Tensor4D[] {
    return tf.tidy(() => {
      const first = tf.relu(tf.conv2d(images, this.encoder[0], 2, "same"));
      const second = tf.relu(tf.conv2d(first, this.encoder[1], 2, "same"));
      return [first, second] as tf.Tensor4D[];
    });
  }

  parameterGroups(): ParameterGroup[] {
    return [{ name: "heads", variables: this.heads, learningRate: 5e-3 }];
  }

  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput {
    const frozen = this.frozen(batch.images);
    const adapt = this.acceptsFeatureAdapter ? options.adaptFeatures : undefined;
    const adapted = adapt ? adapt(frozen) : frozen;
    const outputs = adapted.map((f, s) =>
      tf.conv2d(f, this.heads[s] as unknown as tf.Tensor4D, 1, "same")
    );
    const dense = this.acceptsFeatureAdapter ? adapted : outputs;
    this.records.push({
      computeLoss: options.computeLoss,
      hadAdapter: options.adaptFeatures !== undefined,
      frozen: frozen.map((f) => Float32Array.from(f.dataSync())),
      dense: dense.map((f) => Float32Array.from(f.dataSync())),
    });
    const loss = options.computeLoss
      ? tf.addN(outputs.map((o, s) => tf.mean(tf.sub(1, channelCosine(o, frozen[s]))))) as tf.Scalar
      : undefined;
    const compact = tf.concat(outputs.map((o) => tf.mean(o, [1, 2])), 1) as tf.Tensor2D;
    return { loss, dense, matching: frozen, compact };
  }

  predict(images: tf.Tensor4D, options: PredictOptions = {}): Prediction {
    return tf.tidy(() => {
      const raw = this.frozen(images);
      const adapt = this.acceptsFeatureAdapter ? options.adaptFeatures : undefined;
      const adapted = adapt ? adapt(raw) : raw;
      const [b, h, w] = images.shape;
      const maps = adapted.map((f, s) => {
        const o = tf.conv2d(f, this.heads[s] as unknown as tf.Tensor4D, 1, "same");
        const distance = tf.expandDims(tf.sub(1, channelCosine(o, raw[s])), -1) as tf.Tensor4D;
        return tf.image.resizeBilinear(distance, [h, w]);
      });
      const map = tf.reshape(tf.div(tf.addN(maps), maps.length), [b, h, w]) as tf.Tensor3D;
      return { maps: map, scores: tf.max(map, [1, 2]) as tf.Tensor1D };
    });
  }

  compactFeatures(images: tf.Tensor4D, options: PredictOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const raw = this.frozen(images);
      const adapt = this.acceptsFeatureAdapter ? options.adaptFeatures : undefined;
      const adapted = adapt ? adapt(raw) : raw;
      const outputs = adapted.map((f, s) =>
        tf.conv2d(f, this.heads[s] as unknown as tf.Tensor4D, 1, "same")
      );
      return tf.concat(outputs.map((o) => tf.mean(o, [1, 2])), 1) as tf.Tensor2D;
    });
  }

  namedVariables(): Map<string, tf.Variable> {
    return new Map(this.heads.map((v, s) => [`fake.head${s}.weight`, v]));
  }

  dispose(): void {
    tf.dispose([...this.encoder, ...this.heads]);
  }
}

let fakeCount = 0;

/** Cosine over channels at each pixel: [B, H, W, C] x2 -> [B, H, W]. */
function channelCosine(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const unit = (t: tf.Tensor) => tf.div(t, tf.add(tf.norm(t, 2, -1, true), 1e-8));
  return tf.sum(tf.mul(unit(a), unit(b)), -1);
}

/** Six 16x16 images of three classes, and a flipped + brightened "augmented" view. */
function makeBatch(seed: number): TrainBatch {
  return tf.tidy(() => {
    const images = seededTensor([6, 16, 16, 3], seed) as tf.Tensor4D;
    // Give each class a distinct colour cast so the classes differ in the frozen features.
    const casts = tf.tensor4d([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1], [6, 1, 1, 3]);
    const classImages = tf.add(images, tf.mul(casts, 2)) as tf.Tensor4D;
    const augmented = tf.add(tf.reverse(classImages, 2), 0.1) as tf.Tensor4D;
    return { images: classImages, augmented, classIds: Int32Array.from([0, 0, 1, 1, 2, 2]) };
  }) as unknown as TrainBatch;
}

function disposeBatch(batch: TrainBatch): void {
  tf.dispose([batch.images, batch.augmented!]);
}

/** One Adam step per parameter group on `objective`; returns the losses before the update. */
function adamStep(
  objective: CCLObjective,
  optimizers: Map<string, tf.Optimizer>,
  batch: TrainBatch,
): Record<string, number> {
  const groups = objective.parameterGroups();
  const variables = groups.flatMap((g) => g.variables);
  const values: Record<string, number> = {};
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const losses = objective.losses(batch);
      for (const [name, loss] of Object.entries(losses)) values[name] = loss.dataSync()[0];
      return losses.total;
    }, variables);
    for (const group of groups) {
      const own: tf.NamedTensorMap = {};
      for (const v of group.variables) own[v.name] = grads[v.name];
      optimizers.get(group.name)!.applyGradients(own);
    }
  });
  return values;
}

function adamFor(objective: CCLObjective): Map<string, tf.Optimizer> {
  return new Map(
    objective.parameterGroups().map((g) => [g.name, tf.train.adam(g.learningRate, 0.5, 0.999)]),
  );
}

Deno.test("CCL objective: groups, names, flags", () => {
  const method = new FakeMethod(1);
  const objective = cclObjective(method, {}, 0);
  assertEquals(objective.name, "fake+ccl");
  assert(objective.needsAugmentedView);
  const groups = objective.parameterGroups();
  assertEquals(groups.map((g) => g.name), ["heads", PROJECTOR_GROUP]);
  assertEquals(groups[1].learningRate, 1e-3);
  assertEquals(groups[1].variables.length, 8);
  const names = [...objective.namedVariables().keys()];
  assertEquals(names.filter((n) => n.startsWith("fake.")), [
    "fake.head0.weight",
    "fake.head1.weight",
  ]);
  assertEquals(names.filter((n) => n.startsWith("ccl.projector.")).length, 8);
  assert(names.includes("ccl.projector.scale1.conv3.weight"));
  const faster = cclObjective(method, { projectorLearningRate: 2e-3 }, 0);
  assertEquals(faster.parameterGroups()[1].learningRate, 2e-3);
  faster.dispose();
  objective.dispose();
  method.dispose();
});

Deno.test("CCL objective: finite losses, total = method + global + local, two forwards", () => {
  const method = new FakeMethod(2);
  const objective = cclObjective(
    method,
    { noiseProbability: 1, lambdaGlobal: 0.5, lambdaLocal: 2 },
    3,
  );
  const batch = makeBatch(4);
  const losses = objective.losses(batch);
  assertEquals(Object.keys(losses).sort(), ["global", "local", "method", "total"]);
  const v = Object.fromEntries(Object.entries(losses).map(([k, t]) => [k, t.dataSync()[0]]));
  for (const [name, value] of Object.entries(v)) {
    assert(Number.isFinite(value), `${name} = ${value}`);
  }
  assert(v.global > 0 && v.local > 0 && v.method > 0);
  assertAlmostEquals(v.total, v.method + 0.5 * v.global + 2 * v.local, 1e-5);
  assert(objective.lastStepNoisy);

  // First the original view with the loss and an adapter, then the augmented view without loss.
  assertEquals(method.records.map((r) => [r.computeLoss, r.hadAdapter]), [[true, true], [
    false,
    true,
  ]]);
  // The augmented view is projected without noise: its dense features equal the projector's
  // output on its frozen features exactly.
  const [, second] = method.records;
  const projected = objective.projector!.apply(
    second.frozen.map((f, s) => tf.tensor4d(f, [6, s === 0 ? 8 : 4, s === 0 ? 8 : 4, CHANNELS[s]])),
  );
  projected.forEach((p, s) => assertEquals([...p.dataSync()], [...second.dense[s]]));
  tf.dispose(Object.values(losses));
  tf.dispose(projected);
  disposeBatch(batch);
  objective.dispose();
  method.dispose();
});

Deno.test("CCL objective: gradients reach the projector and the method", () => {
  const method = new FakeMethod(5);
  const objective = cclObjective(method, {}, 1);
  const batch = makeBatch(6);
  const variables = objective.parameterGroups().flatMap((g) => g.variables);
  const { value, grads } = tf.variableGrads(() => objective.losses(batch).total, variables);
  assert(Number.isFinite(value.dataSync()[0]));
  for (const v of variables) {
    const grad = grads[v.name];
    assert(grad !== undefined, `no gradient for ${v.name}`);
    const norm = tf.norm(grad).dataSync()[0];
    assert(Number.isFinite(norm) && norm > 0, `gradient norm of ${v.name} is ${norm}`);
  }
  // The local and global terms alone also reach the projector (not only via the method loss).
  const projectorVariables = objective.projector!.variables();
  const local = tf.variableGrads(() => objective.losses(batch).local, projectorVariables);
  assert(projectorVariables.every((v) => tf.norm(local.grads[v.name]).dataSync()[0] > 0));
  tf.dispose([value, local.value, ...Object.values(grads), ...Object.values(local.grads)]);
  disposeBatch(batch);
  objective.dispose();
  method.dispose();
});

Deno.test("CCL objective: Adam steps lower the total, memory is flat, seeds reproduce", () => {
  function run(seed: number, steps: number) {
    const method = new FakeMethod(7);
    // No noise here: the comparison of first and last total is then about learning alone.
    const objective = cclObjective(method, { noiseProbability: 0 }, seed);
    const optimizers = adamFor(objective);
    const batch = makeBatch(8);
    const totals: number[] = [];
    const tensorCounts: number[] = [];
    for (let i = 0; i < steps; i++) {
      totals.push(adamStep(objective, optimizers, batch).total);
      tensorCounts.push(tf.memory().numTensors);
    }
    const final = objective.losses(batch);
    totals.push(final.total.dataSync()[0]);
    tf.dispose(Object.values(final));
    for (const o of optimizers.values()) o.dispose();
    disposeBatch(batch);
    objective.dispose();
    method.dispose();
    return { totals, tensorCounts };
  }
  const a = run(11, 8);
  assert(a.totals.every(Number.isFinite));
  assert(a.totals[a.totals.length - 1] < a.totals[0] * 0.9, `totals ${a.totals.join(", ")}`);
  // Adam's slots exist from the first step on; after that nothing accumulates.
  assertEquals(a.tensorCounts[a.tensorCounts.length - 1], a.tensorCounts[1]);
  const b = run(11, 4);
  assertEquals(b.totals.slice(0, 4), a.totals.slice(0, 4));
  const c = run(12, 4);
  assertNotEquals(c.totals.slice(0, 4), a.totals.slice(0, 4));
});

Deno.test("CCL objective: noise, same seed -> same losses, leak-free outside a tape", () => {
  function losses(seed: number, steps: number): number[][] {
    const method = new FakeMethod(9);
    const objective = cclObjective(
      method,
      { noiseProbability: 0.5, sameClassPositive: true },
      seed,
    );
    const batch = makeBatch(10);
    const out: number[][] = [];
    const before = tf.memory().numTensors;
    for (let i = 0; i < steps; i++) {
      const l = objective.losses(batch);
      out.push([l.total, l.method, l.global, l.local].map((t) => t.dataSync()[0]));
      out[i].push(objective.lastStepNoisy ? 1 : 0);
      tf.dispose(Object.values(l));
    }
    assertEquals(tf.memory().numTensors, before);
    disposeBatch(batch);
    objective.dispose();
    method.dispose();
    return out;
  }
  const a = losses(21, 8), b = losses(21, 8);
  assertEquals(a, b);
  // With p = 0.5 over 8 steps both outcomes occur, and noise changes the method loss.
  const noisy = a.filter((r) => r[4] === 1), clean = a.filter((r) => r[4] === 0);
  assert(noisy.length > 0 && clean.length > 0, `noise flags ${a.map((r) => r[4])}`);
  assert(noisy[0][1] !== clean[0][1]);
});

Deno.test("CCL objective: inference goes through the projector without noise", () => {
  const method = new FakeMethod(17);
  const objective = cclObjective(method, { noiseProbability: 1 }, 4);
  const batch = makeBatch(18);
  const ours = objective.predict(batch.images);
  const direct = method.predict(batch.images, {
    adaptFeatures: (f) => objective.projector!.apply(f),
  });
  const raw = method.predict(batch.images);
  assertEquals(ours.maps.shape, [6, 16, 16]);
  assertEquals([...ours.scores.dataSync()], [...direct.scores.dataSync()]);
  assertNotEquals([...ours.scores.dataSync()], [...raw.scores.dataSync()]);
  assert(objective.predictOptions().adaptFeatures !== undefined);
  const plain = cclObjective(method, { enableProjector: false }, 4);
  assertEquals(plain.predictOptions(), {});
  assertEquals(plain.parameterGroups().map((g) => g.name), ["heads"]);
  tf.dispose([ours.maps, ours.scores, direct.maps, direct.scores, raw.maps, raw.scores]);
  disposeBatch(batch);
  objective.dispose();
  method.dispose();
});

Deno.test("CCL objective: methods without an adapter get local CL on their own dense features", () => {
  const method = new FakeMethod(13, false);
  const objective = cclObjective(method, {}, 2);
  assertEquals(objective.projector, undefined);
  assertEquals(objective.parameterGroups().map((g) => g.name), ["heads"]);
  assertEquals([...objective.namedVariables().keys()], ["fake.head0.weight", "fake.head1.weight"]);
  const batch = makeBatch(14);
  const variables = objective.parameterGroups().flatMap((g) => g.variables);
  const { value, grads } = tf.variableGrads(() => objective.losses(batch).local, variables);
  assert(value.dataSync()[0] > 0);
  // The local loss now trains the method's own variables.
  for (const v of variables) assert(tf.norm(grads[v.name]).dataSync()[0] > 0, v.name);
  assertEquals(method.records.map((r) => r.hadAdapter), [false, false]);
  assert(!objective.lastStepNoisy);
  tf.dispose([value, ...Object.values(grads)]);
  disposeBatch(batch);
  objective.dispose();
  method.dispose();
});

Deno.test("CCL objective: disabled parts report 0; bad batches and configs are clear errors", () => {
  const method = new FakeMethod(15);
  const batch = makeBatch(16);
  const methodOnly = cclObjective(method, { enableGlobal: false, enableLocal: false }, 0);
  const l = methodOnly.losses(batch);
  assertEquals(l.global.dataSync()[0], 0);
  assertEquals(l.local.dataSync()[0], 0);
  assertEquals(l.total.dataSync()[0], l.method.dataSync()[0]);
  tf.dispose(Object.values(l));

  const objective = cclObjective(method, { window: 0 }, 0);
  assertThrows(
    () => objective.losses({ images: batch.images, classIds: batch.classIds }),
    Error,
    "no `augmented` view",
  );
  assertThrows(
    () => objective.losses({ ...batch, classIds: Int32Array.from([0, 1]) }),
    RangeError,
    "2 class ids for a batch of 6",
  );
  assertThrows(() => cclObjective(method, { window: 2 }, 0), RangeError, "CCL config of fake");
  const whole = objective.losses(batch);
  assert(Number.isFinite(whole.local.dataSync()[0]));
  tf.dispose(Object.values(whole));
  for (const o of [methodOnly, objective]) o.dispose();
  disposeBatch(batch);
  method.dispose();
});
