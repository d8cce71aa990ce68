/**
 * Run by tests/wasm_threads_test.ts in a subprocess (a backend's thread count is fixed once it
 * starts): a few seeded conv + Adam steps on wasm with `CCL_WASM_THREADS` threads; prints the
 * thread count and every loss and final weight as JSON.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "../lib/backend/register_gradients.ts";
import { initWasmBackend } from "../lib/backend/wasm_threads.ts";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { createOptimizer } from "../lib/optim/mod.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();
const info = await initWasmBackend();
const rng = mulberry32(7);
const data = (shape: number[]) =>
  tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => randomNormal(rng)),
    shape,
  );
const x = data([4, 32, 32, 16]) as tf.Tensor4D;
const w1 = tf.variable(tf.mul(data([3, 3, 16, 32]), 0.1), true, "probe/w1") as tf.Variable<
  tf.Rank.R4
>;
const w2 = tf.variable(tf.mul(data([3, 3, 32, 16]), 0.1), true, "probe/w2") as tf.Variable<
  tf.Rank.R4
>;
const optimizer = createOptimizer({ kind: "adam", learningRate: 0.01 }, [w1, w2]);
const losses: number[] = [];
for (let step = 0; step < 3; step++) {
  const { value, grads } = tf.variableGrads(() => {
    const h = tf.relu(tf.conv2d(x, w1, 1, "same"));
    const y = tf.conv2d(h, w2, 1, "same");
    return tf.mean(tf.square(tf.sub(y, x))) as tf.Scalar;
  }, [w1, w2]);
  optimizer.applyGradients(grads);
  losses.push((await value.data())[0]);
  tf.dispose([value, ...Object.values(grads)]);
}
const weights = [...await w2.data()].slice(0, 256);
console.log(JSON.stringify({ threads: info.threads, losses, weights }));
