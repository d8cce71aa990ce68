/**
 * Small differentiable tensor helpers the CCL losses share.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Floor of the squared norm, as PyTorch's `F.normalize` (eps 1e-12 on the norm). */
const MIN_SQUARED_NORM = 1e-24;

/**
 * L2-normalises `x` along its last axis (channels, for NHWC maps). Zero vectors stay zero.
 * Uses `rsqrt(max(|x|^2, eps^2))` rather than `x / max(|x|, eps)` so the gradient is finite
 * at zero vectors.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { l2NormalizeLastAxis } from "./ops.ts";
 * const unit = l2NormalizeLastAxis(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 * ```
 */
export function l2NormalizeLastAxis<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const squared = tf.sum(tf.square(x), -1, true);
    return tf.mul(x, tf.rsqrt(tf.maximum(squared, MIN_SQUARED_NORM))) as T;
  });
}

/**
 * Rows `indices` of `x` ([N, D] -> [indices.length, D]), differentiable with respect to `x` on
 * every backend: the gradient is a summing scatter (`scatterND`), because TF.js's own gather
 * gradient needs `UnsortedSegmentSum`, which the wasm backend lacks.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gatherRows } from "./ops.ts";
 * const picked = gatherRows(tf.tensor2d([[1], [2], [3]]), Int32Array.from([2, 0])); // [[3], [1]]
 * ```
 */
export function gatherRows(x: tf.Tensor2D, indices: Int32Array): tf.Tensor2D {
  const rows = x.shape[0];
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0 || index >= rows) {
      throw new RangeError(`gatherRows: index ${index} outside [0, ${rows})`);
    }
  }
  const gather = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const source = args[0] as tf.Tensor;
    const value = tf.tidy(() => tf.gather(source, tf.tensor1d(indices, "int32")));
    const gradFunc = (dy: tf.Tensor) =>
      tf.tidy(() =>
        tf.scatterND(tf.tensor2d(indices, [indices.length, 1], "int32"), dy, source.shape)
      );
    return { value, gradFunc };
  });
  return gather(x) as tf.Tensor2D;
}
