/**
 * One Adam / AdamW update of one variable: the fused `wasm` kernel where it is registered,
 * else the composite of element-wise ops in the same order (TF.js's `AdamOptimizer`), which
 * gives the same float32 numbers.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  ADAM_UPDATE_KERNEL,
  type AdamUpdateAttrs,
  registerWasmAdam,
} from "../backend/wasm_adam.ts";

registerWasmAdam();

/** The new variable value and moments; the caller owns all three. */
export interface AdamUpdateResult {
  x: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/**
 * The composite update: the reference the fused kernel is tested against, and the path on
 * backends without the kernel.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { adamUpdateComposite } from "./adam_update.ts";
 * await tf.setBackend("cpu");
 * const out = adamUpdateComposite(tf.tensor1d([1]), tf.zeros([1]), tf.zeros([1]),
 *   tf.tensor1d([2]), {
 *     learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
 *     oneMinusBeta1Power: 0.1, oneMinusBeta2Power: 0.001, weightDecay: 0, decoupled: false,
 *   });
 * if (Math.abs(out.x.dataSync()[0] - 0.9) > 1e-6) throw new Error();
 * tf.dispose([out.x, out.m, out.v]);
 * ```
 */
export function adamUpdateComposite(
  x: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  a: AdamUpdateAttrs,
): AdamUpdateResult {
  return tf.tidy(() => {
    let grad = g;
    let value = x;
    if (a.weightDecay !== 0 && !a.decoupled) grad = tf.add(g, tf.mul(x, a.weightDecay));
    if (a.weightDecay !== 0 && a.decoupled) {
      value = tf.mul(x, 1 - a.learningRate * a.weightDecay);
    }
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(grad, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(grad), 1 - a.beta2));
    const mHat = tf.div(m1, a.oneMinusBeta1Power);
    const vHat = tf.div(v1, a.oneMinusBeta2Power);
    const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), a.epsilon)), -a.learningRate);
    return { x: tf.add(step, value), m: m1, v: v1 };
  });
}

/** Whether the fused kernel serves the current backend. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * One update: fused when `fused` and the current backend has the kernel, else composite.
 * Inputs are float32 tensors of one shape; they stay the caller's.
 */
export function adamUpdate(
  x: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  attrs: AdamUpdateAttrs,
  fused = true,
): AdamUpdateResult {
  if (!fused || !hasFusedAdam() || g.dtype !== "float32" || !sameShape(g.shape, x.shape)) {
    return adamUpdateComposite(x, m, v, g, attrs);
  }
  const [x1, m1, v1] = tf.engine().runKernel(
    ADAM_UPDATE_KERNEL,
    { x, m, v, g } as unknown as tf.NamedTensorMap,
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  return { x: x1, m: m1, v: v1 };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
