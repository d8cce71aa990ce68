/**
 * The gradient of a whole RD + CCL step (two views through one projector, the fused instance
 * norm + LeakyReLU and local-loss gradients, SupCon, RD's loss) against central finite
 * differences of the same float32 loss, on a tiny model. The custom gradients are also checked
 * one by one against autodiff (`ccl_chunk_test.ts`); this checks their composition. It fails
 * when the instance-norm gradient is scaled by 1.003 or the local loss's key gradient by 1.05.
 *
 * (Why: the torch parity check saw RD + CCL gradients off float64 by up to ~5% of a tensor's
 * largest entry. Those were float32 kink flips, not a gradient bug: a (Leaky)ReLU input within
 * ~1e-6 of 0 that rounds to the other side of 0 than in float64 passes dy (or slope * dy)
 * instead of slope * dy (or dy) at that one position, and the difference spreads upstream.)
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Registers the gradient functions (tfjs-core alone has none).
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { cclObjective } from "../lib/ccl/mod.ts";
import { createRD } from "../lib/methods/rd/rd.ts";
import { seededNormal } from "../lib/methods/layers.ts";
import { createFakeBackbone, randomImages } from "./_fake_backbone.ts";

await tf.setBackend("cpu");
await tf.ready();

/** The variables whose directional derivatives are checked, one direction each. */
const CHECKED = [
  ["ccl.projector.scale0.conv0.weight"],
  ["ccl.projector.scale0.conv3.weight"],
  ["ccl.projector.scale1.conv0.weight", "ccl.projector.scale1.conv2.weight"],
  ["ccl.projector.scale2.conv1.weight"],
  ["rd.bn.conv3.weight", "rd.bn.bn3.weight", "rd.bn.bn3.bias"],
  ["rd.bn.conv1.weight"],
];

function dot(a: Float32Array[], b: Float32Array[]): number {
  let sum = 0;
  a.forEach((x, k) => x.forEach((v, i) => (sum += v * b[k][i])));
  return sum;
}

Deno.test("RD + CCL: the step's gradient equals central finite differences", async () => {
  const backbone = createFakeBackbone();
  const rd = createRD(backbone, {}, 3);
  // No feature noise: the loss must be the same function of the weights at every evaluation.
  const objective = cclObjective(rd, { enableNoise: false, window: 3 }, 5);
  const batch = {
    images: randomImages(4, 32, 11),
    augmented: randomImages(4, 32, 12),
    classIds: Int32Array.from([0, 1, 0, 1]),
  };
  const named = objective.namedVariables();
  const trainable = objective.parameterGroups().flatMap((g) => g.variables);
  const before = tf.memory().numTensors;

  // Step 0's draws (negatives) every time, so each evaluation is the same function.
  const total = (): tf.Scalar => {
    objective.beginStep?.(0);
    const losses = objective.losses(batch);
    tf.dispose(Object.values(losses).filter((loss) => loss !== losses.total));
    return losses.total;
  };
  const { value, grads } = tf.variableGrads(total, trainable);
  const stableName = new Map([...named].map(([name, v]) => [v.name, name]));
  const gradient = new Map<string, Float32Array>();
  for (const [engineName, grad] of Object.entries(grads)) {
    gradient.set(stableName.get(engineName)!, (await grad.data()) as Float32Array);
  }
  tf.dispose([value, ...Object.values(grads)]);

  const lossAt = async (): Promise<number> => {
    const loss = total();
    const result = (await loss.data())[0];
    loss.dispose();
    return result;
  };
  for (const [set, names] of CHECKED.entries()) {
    const variables = names.map((name) => named.get(name)!);
    const g = names.map((name) => gradient.get(name)!);
    // Along the gradient plus an equally long random part: both the gradient's length and
    // components across it are checked, with a signal well above float32 noise.
    const norm = Math.sqrt(dot(g, g));
    assert(norm > 1e-6, `${names} has no gradient (${norm})`);
    const direction = g.map((x, k) => {
      const r = seededNormal(x.length, 1, 100 + 10 * set + k);
      return Float32Array.from(x, (v, i) => v / norm + r[i] / Math.sqrt(dot([r], [r]) * g.length));
    });
    const start = variables.map((v) => tf.clone(v));
    const shifted = async (h: number) => {
      variables.forEach((v, k) => {
        const moved = tf.tidy(() => tf.add(start[k], tf.mul(tf.tensor(direction[k], v.shape), h)));
        v.assign(moved);
        moved.dispose();
      });
      return await lossAt();
    };
    // The median of three central differences: this tiny model's loss curves strongly (a
    // larger h errs), float32 rounding limits a smaller one, and a step may cross a kink of a
    // (Leaky)ReLU, which puts one of the three off.
    const differences: number[] = [];
    for (const h of [5e-5, 1e-4, 2e-4]) {
      differences.push((await shifted(h) - await shifted(-h)) / (2 * h));
    }
    const finite = differences.sort((a, b) => a - b)[1];
    variables.forEach((v, k) => v.assign(start[k]));
    tf.dispose(start);
    const analytic = dot(g, direction);
    const error = Math.abs(finite - analytic) / Math.abs(analytic);
    assert(
      error < 5e-3,
      `${names.join(", ")}: gradient . d = ${analytic}, finite difference ${finite} ` +
        `(relative error ${error.toExponential(2)})`,
    );
  }
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([batch.images, batch.augmented]);
  objective.dispose();
  rd.dispose();
  backbone.dispose();
});
