import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { registerWasmSharedIdentity, restoreWasmIdentity } from "../lib/backend/wasm_identity.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();

function seeded(shape: number[], seed: number): tf.Tensor {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => randomNormal(rng)), shape);
}

/** A small conv + batch-norm-like + relu net's loss and gradients (taped, so Identity saves). */
function lossAndGrads(): number[][] {
  const x = seeded([2, 8, 8, 3], 1) as tf.Tensor4D;
  const initial = [seeded([3, 3, 3, 4], 2), seeded([4], 3)];
  const w = tf.variable(initial[0]);
  const g = tf.variable(initial[1]);
  tf.dispose(initial);
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const y = tf.conv2d(x, w as tf.Tensor4D, 1, "same");
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      const z = tf.relu(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5))), g));
      return tf.mean(tf.square(z)) as tf.Scalar;
    }), [w, g]);
  const out = [[...value.dataSync()], ...[w, g].map((v) => [...grads[v.name].dataSync()])];
  tf.dispose([x, w, g, value, ...Object.values(grads)]);
  return out;
}

Deno.test("wasm shared Identity: same values as the copy, same memory, no leak", async () => {
  await tf.setBackend("wasm");
  await tf.ready();
  registerWasmSharedIdentity();
  registerWasmSharedIdentity(); // idempotent
  const before = tf.memory().numTensors;
  const x = seeded([5, 7], 4);
  const y = tf.clone(x);
  assertEquals([...y.dataSync()], [...x.dataSync()]);
  assertEquals(y.dataId, x.dataId);
  x.dispose();
  // The data lives on while the clone refers to it.
  assertEquals(y.dataSync().length, 35);
  y.dispose();
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("wasm shared Identity: a taped step gives the same loss and gradients as the copying Identity and as cpu", async () => {
  await tf.setBackend("cpu");
  const cpu = lossAndGrads();
  await tf.setBackend("wasm");
  await tf.ready();
  restoreWasmIdentity();
  const copying = lossAndGrads();
  registerWasmSharedIdentity();
  const before = tf.memory().numTensors;
  const shared = lossAndGrads();
  assertEquals(tf.memory().numTensors, before);
  assertEquals(shared, copying);
  for (const [i, values] of cpu.entries()) {
    const worst = Math.max(...values.map((v, j) => Math.abs(v - shared[i][j])));
    assert(worst < 1e-4, `entry ${i} differs from cpu by ${worst}`);
  }
});
