/**
 * DMAD's map and score from two parts already in the input's frame: the residual (RD's
 * per-scale 1 - cosine on the deformed image, upsampled, combined over scales and carried back
 * by the inverse fields) and the diversity (the inverse fields' magnitude). Both are blurred
 * (Gaussian, sigma 4, as the official code); the diversity is divided by its largest possible
 * value (`bound`, coarse + fine offset) and weighted:
 * map = blur(residual) + w · blur(diversity) / bound,
 * score = max(blur(residual)) + w · max(blur(diversity)) / bound.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BlurPadding, gaussianBlur } from "../gaussian_blur.ts";
import type { Prediction } from "../types.ts";

export { maxScores } from "../components/scores.ts";

/** Options of {@linkcode dmadPrediction}. */
export interface DMADMapOptions {
  /** Weight w of the diversity against the residual. */
  deformationWeight: number;
  /** The diversity's largest possible value (the diversity is divided by it). */
  bound: number;
  /** Gaussian blur sigma in pixels (default 4); 0 disables the blur. */
  sigma?: number;
  /** Blur border handling (default "reflect"). */
  padding?: BlurPadding;
}

/**
 * Maps [B, H, W] and scores [B] from the residual and diversity maps [B, H, W].
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { dmadPrediction } from "./anomaly_map.ts";
 * const residual = tf.fill([1, 4, 4], 0.5) as tf.Tensor3D;
 * const diversity = tf.fill([1, 4, 4], 0.1) as tf.Tensor3D;
 * const { scores } = dmadPrediction(residual, diversity, { deformationWeight: 0.5, bound: 0.2, sigma: 0 });
 * // 0.5 + 0.5 · 0.1 / 0.2 = 0.75
 * if (Math.abs(scores.dataSync()[0] - 0.75) > 1e-6) throw new Error();
 * ```
 */
export function dmadPrediction(
  residual: tf.Tensor3D,
  diversity: tf.Tensor3D,
  options: DMADMapOptions,
): Prediction {
  if (residual.shape.some((d, i) => d !== diversity.shape[i])) {
    throw new Error(
      `lib/methods/dmad/anomaly_map.ts: residual [${residual.shape}] and diversity ` +
        `[${diversity.shape}] maps must have the same shape`,
    );
  }
  if (!(options.bound > 0)) {
    throw new Error(`lib/methods/dmad/anomaly_map.ts: bound must be > 0, got ${options.bound}`);
  }
  const sigma = options.sigma ?? 4;
  return tf.tidy(() => {
    const blur = (m: tf.Tensor3D) =>
      sigma > 0 ? gaussianBlur(m, { sigma, padding: options.padding }) : m;
    const r = blur(residual);
    const d = tf.div(blur(diversity), options.bound) as tf.Tensor3D;
    const w = options.deformationWeight;
    const maps = tf.add(r, tf.mul(d, w)) as tf.Tensor3D;
    const scores = tf.add(tf.max(r, [1, 2]), tf.mul(tf.max(d, [1, 2]), w)) as tf.Tensor1D;
    return { maps, scores };
  });
}
