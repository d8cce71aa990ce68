/**
 * One SGD update of one variable, PyTorch's rule: g += wd · x; buf = momentum · buf + g;
 * d = nesterov ? g + momentum · buf : buf; x -= lr · d.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The scalars of one SGD update. */
export interface SgdUpdateAttrs {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/**
 * The new value and momentum buffer (`undefined` without momentum); the caller owns them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { sgdUpdate } from "./sgd_update.ts";
 * await tf.setBackend("cpu");
 * const { x } = sgdUpdate(tf.tensor1d([1]), undefined, tf.tensor1d([2]),
 *   { learningRate: 0.1, momentum: 0, nesterov: false, weightDecay: 0 });
 * if (Math.abs(x.dataSync()[0] - 0.8) > 1e-6) throw new Error();
 * x.dispose();
 * ```
 */
export function sgdUpdate(
  x: tf.Tensor,
  buffer: tf.Tensor | undefined,
  g: tf.Tensor,
  a: SgdUpdateAttrs,
): { x: tf.Tensor; buffer?: tf.Tensor } {
  return tf.tidy(() => {
    const grad = a.weightDecay !== 0 ? tf.add(g, tf.mul(x, a.weightDecay)) : g;
    if (a.momentum === 0) return { x: tf.add(x, tf.mul(grad, -a.learningRate)) };
    // The first step's buffer is the gradient itself (PyTorch), not momentum · 0 + g.
    const buf = buffer === undefined ? tf.clone(grad) : tf.add(tf.mul(buffer, a.momentum), grad);
    const direction = a.nesterov ? tf.add(grad, tf.mul(buf, a.momentum)) : buf;
    return { x: tf.add(x, tf.mul(direction, -a.learningRate)), buffer: buf };
  });
}
