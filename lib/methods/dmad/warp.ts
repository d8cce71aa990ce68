/**
 * Differentiable bilinear warping of feature maps by per-pixel offsets, without gathers: the
 * offsets are bounded by an integer `maxOffset` K, so the sample at p + o(p) is the sum over
 * the (2K + 1)² integer shifts d of hat(o_y - d_y) · hat(o_x - d_x) · F(p + d), with
 * hat(t) = max(0, 1 - |t|) (exactly bilinear interpolation). Only pad, slice, abs, relu, mul
 * and add appear, whose gradients every backend has (the wasm backend lacks gather and
 * grid-sample gradients). Outside the map the features are zero (PyTorch's `grid_sample`
 * with `padding_mode="zeros"`, `align_corners=True` in pixel units).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Samples `features` [B, h, w, C] at p + `offsets`(p); `offsets` [B, h, w, 2] hold (dy, dx)
 * in pixels, clipped to [-maxOffset, maxOffset].
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { warpBilinear } from "./warp.ts";
 * const f = tf.tensor4d([1, 2, 3, 4], [1, 1, 4, 1]);
 * const o = tf.tensor4d([0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5], [1, 1, 4, 2]);
 * const warped = warpBilinear(f, o, 1); // [1.5, 2.5, 3.5, 2]
 * ```
 */
export function warpBilinear(
  features: tf.Tensor4D,
  offsets: tf.Tensor4D,
  maxOffset: number,
): tf.Tensor4D {
  const [batch, height, width, channels] = features.shape;
  if (!Number.isInteger(maxOffset) || maxOffset < 1) {
    throw new Error(
      `lib/methods/dmad/warp.ts: maxOffset must be a positive integer, got ${maxOffset}`,
    );
  }
  const expected = [batch, height, width, 2];
  if (offsets.rank !== 4 || offsets.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `lib/methods/dmad/warp.ts: offsets must be [${expected}] for features [${features.shape}], ` +
        `got [${offsets.shape}]`,
    );
  }
  const k = maxOffset;
  return tf.tidy(() => {
    const clipped = tf.clipByValue(offsets, -k, k);
    const oy = tf.slice(clipped, [0, 0, 0, 0], [batch, height, width, 1]);
    const ox = tf.slice(clipped, [0, 0, 0, 1], [batch, height, width, 1]);
    const hat = (t: tf.Tensor, d: number) => tf.relu(tf.sub(1, tf.abs(tf.sub(t, d))));
    const padded = tf.pad(features, [[0, 0], [k, k], [k, k], [0, 0]]);
    const rows: tf.Tensor[] = [];
    for (let dy = -k; dy <= k; dy++) {
      const columns: tf.Tensor[] = [];
      for (let dx = -k; dx <= k; dx++) {
        const shifted = tf.slice(padded, [0, k + dy, k + dx, 0], [batch, height, width, channels]);
        columns.push(tf.mul(hat(ox, dx), shifted));
      }
      rows.push(tf.mul(hat(oy, dy), tf.addN(columns)));
    }
    return tf.addN(rows) as tf.Tensor4D;
  });
}

/**
 * 2x nearest-neighbour upsampling [B, h, w, C] -> [B, 2h, 2w, C] by concat and reshape (so
 * its gradient needs no resize-gradient kernel).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  return tf.tidy(() => {
    const wide = tf.reshape(tf.stack([x, x], 3), [batch, height, 2 * width, channels]);
    return tf.reshape(tf.stack([wide, wide], 2), [
      batch,
      2 * height,
      2 * width,
      channels,
    ]) as tf.Tensor4D;
  });
}
