/**
 * Image scores from anomaly maps: the maximum (RD), the mean of the top k values (DeSTSeg),
 * the maximum after a mean filter (DRAEM).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Image scores [B]: the maximum of each map [B, H, W].
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { maxScores } from "./scores.ts";
 * const scores = maxScores(tf.tensor3d([[[0, 2], [1, 0]]])); // [2]
 * ```
 */
export function maxScores(maps: tf.Tensor3D): tf.Tensor1D {
  return tf.max(maps, [1, 2]) as tf.Tensor1D;
}

/**
 * Image scores [B]: the mean of the `k` largest values of each map [B, H, W] (all values when
 * the map has fewer), as DeSTSeg's top-T pooling.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { topKMeanScores } from "./scores.ts";
 * const scores = topKMeanScores(tf.tensor3d([[[4, 2], [1, 0]]]), 2); // [3]
 * ```
 */
export function topKMeanScores(maps: tf.Tensor3D, k: number): tf.Tensor1D {
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`lib/methods/components/scores.ts: k must be a positive integer, got ${k}`);
  }
  return tf.tidy(() => {
    const [batch, height, width] = maps.shape;
    const flat = tf.reshape(maps, [batch, height * width]);
    const { values } = tf.topk(flat, Math.min(k, height * width));
    return tf.mean(values, 1) as tf.Tensor1D;
  });
}

/**
 * Image scores [B]: the maximum of each map [B, H, W] after a `size` x `size` mean filter
 * (stride 1, zero padding counted, as PyTorch's `avg_pool2d(padding=size // 2)` with
 * `count_include_pad`), as DRAEM's score.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { meanFilterMaxScores } from "./scores.ts";
 * const map = tf.tensor3d([[[0, 0, 0], [0, 9, 0], [0, 0, 0]]]);
 * const scores = meanFilterMaxScores(map, 3); // [1]
 * ```
 */
export function meanFilterMaxScores(maps: tf.Tensor3D, size: number): tf.Tensor1D {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) {
    throw new Error(
      `lib/methods/components/scores.ts: the filter size must be an odd positive integer, got ${size}`,
    );
  }
  return tf.tidy(() => {
    const pad = Math.floor(size / 2);
    const x = tf.pad(tf.expandDims(maps, 3), [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
    const filtered = tf.avgPool(x as tf.Tensor4D, size, 1, "valid");
    return tf.max(filtered, [1, 2, 3]) as tf.Tensor1D;
  });
}
