/**
 * Small differentiable tensor helpers the CCL losses share.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Floor of the squared norm, as PyTorch's `F.normalize` (eps 1e-12 on the norm). */
export const MIN_SQUARED_NORM = 1e-24;

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
 * gradient needs `UnsortedSegmentSum`, which the wasm backend lacks. `indices` may be an int32
 * tensor computed on the device (e.g. pixel matches); those are not range-checked here (that
 * would need a read-back), so they must lie in [0, N).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gatherRows } from "./ops.ts";
 * const picked = gatherRows(tf.tensor2d([[1], [2], [3]]), Int32Array.from([2, 0])); // [[3], [1]]
 * ```
 */
export function gatherRows(x: tf.Tensor2D, indices: Int32Array | tf.Tensor1D): tf.Tensor2D {
  const rows = x.shape[0];
  if (indices instanceof Int32Array) {
    for (const index of indices) {
      if (!Number.isInteger(index) || index < 0 || index >= rows) {
        throw new RangeError(`gatherRows: index ${index} outside [0, ${rows})`);
      }
    }
  } else if (indices.dtype !== "int32" || indices.rank !== 1) {
    throw new RangeError(
      `gatherRows: index tensor must be int32 of rank 1, got ${indices.dtype} [${indices.shape}]`,
    );
  }
  const count = indices instanceof Int32Array ? indices.length : indices.shape[0];
  const gather = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const source = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const index = indices instanceof Int32Array ? tf.tensor1d(indices, "int32") : indices;
    const value = tf.gather(source, index);
    // Saved, so the tape keeps the indices alive until the backward pass even when the caller's
    // tidy has freed them.
    save([tf.reshape(index, [count, 1])]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => tf.scatterND(saved[0], dy, source.shape));
    return { value, gradFunc };
  });
  return gather(x) as tf.Tensor2D;
}

/**
 * Runs `compute` (which reads `inputs`) so that none of its operations is recorded on an active
 * gradient tape: nothing it creates is kept for a backward pass, and its result has a zero
 * gradient with respect to `inputs`. For discrete choices made inside a training step, such as
 * pixel matches. `compute` must free its own intermediates (e.g. with `tf.tidy`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { offTape } from "./ops.ts";
 * const x = tf.tensor1d([3, 1, 2]);
 * const best = offTape([x], () => tf.argMax(x)); // 0
 * tf.dispose([x, best]);
 * ```
 */
export function offTape<T extends tf.Tensor>(inputs: tf.Tensor[], compute: () => T): T {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const given = args.slice(0, inputs.length) as tf.Tensor[];
    return {
      value: compute(),
      gradFunc: () => given.map((x) => tf.zerosLike(x)),
    };
  });
  return run(...inputs) as T;
}
