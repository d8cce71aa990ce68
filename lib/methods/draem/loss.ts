/**
 * DRAEM's losses: SSIM (Gaussian window 11, sigma 1.5, dynamic range 1) and the focal loss on
 * the softmax of the two-class mask output (gamma 2, label smoothing 1e-5), as the original.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** A normalised 1-D Gaussian of `size` taps. */
function gaussian(size: number, sigma: number): number[] {
  const centre = Math.floor(size / 2);
  const taps = Array.from(
    { length: size },
    (_, i) => Math.exp(-((i - centre) ** 2) / (2 * sigma ** 2)),
  );
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
}

/**
 * Mean SSIM of two NHWC images in [0, 1] (per channel, zero padding, C1 = 0.01², C2 = 0.03²).
 * Channels are folded into the batch, so only plain 2-D convolutions are differentiated.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { ssim } from "./loss.ts";
 * const x = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D;
 * const same = ssim(x, x); // 1
 * ```
 */
export function ssim(a: tf.Tensor4D, b: tf.Tensor4D, window = 11, sigma = 1.5): tf.Scalar {
  return tf.tidy(() => {
    const g = gaussian(window, sigma);
    const kernel = tf.tensor4d(
      g.flatMap((gy) => g.map((gx) => gy * gx)),
      [window, window, 1, 1],
    );
    const pad = Math.floor(window / 2);
    const fold = (x: tf.Tensor4D) => {
      const [n, h, w, c] = x.shape;
      return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]) as tf.Tensor4D;
    };
    const blur = (x: tf.Tensor4D) => tf.conv2d(x, kernel, 1, pad);
    const x = fold(a), y = fold(b);
    const muX = blur(x), muY = blur(y);
    const muX2 = tf.square(muX), muY2 = tf.square(muY), muXY = tf.mul(muX, muY);
    const sigmaX = tf.sub(blur(tf.square(x)), muX2);
    const sigmaY = tf.sub(blur(tf.square(y)), muY2);
    const sigmaXY = tf.sub(blur(tf.mul(x, y)), muXY);
    const c1 = 0.01 ** 2, c2 = 0.03 ** 2;
    const map = tf.div(
      tf.mul(tf.add(tf.mul(muXY, 2), c1), tf.add(tf.mul(sigmaXY, 2), c2)),
      tf.mul(tf.add(tf.add(muX2, muY2), c1), tf.add(tf.add(sigmaX, sigmaY), c2)),
    );
    return tf.mean(map) as tf.Scalar;
  });
}

/**
 * DRAEM's focal loss: `probabilities` [B, H, W, 2] (softmax), `masks` [B, H, W, 1] in {0, 1};
 * mean over pixels of -(1 - p_t)^gamma · log(p_t), with p_t the smoothed target's probability.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { focalLoss } from "./loss.ts";
 * const p = tf.tensor4d([0.5, 0.5], [1, 1, 1, 2]);
 * const loss = focalLoss(p, tf.zeros([1, 1, 1, 1])); // 0.25 · ln 2 ≈ 0.1733
 * ```
 */
export function focalLoss(
  probabilities: tf.Tensor4D,
  masks: tf.Tensor4D,
  gamma = 2,
  smooth = 1e-5,
): tf.Scalar {
  return tf.tidy(() => {
    const target = tf.concat([tf.sub(1, masks), masks], 3);
    const smoothed = tf.clipByValue(target, smooth, 1 - smooth);
    const pt = tf.add(tf.sum(tf.mul(smoothed, probabilities), 3), smooth);
    const weight = gamma === 2 ? tf.square(tf.sub(1, pt)) : tf.pow(tf.sub(1, pt), gamma);
    return tf.mean(tf.mul(tf.neg(weight), tf.log(pt))) as tf.Scalar;
  });
}
