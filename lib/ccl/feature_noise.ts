/**
 * CCL's feature noise: on some steps, Gaussian noise is added to the projected features of the
 * original view at a random subset of spatial positions, so the reconstruction must not rely on
 * every projected pixel.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Options of {@linkcode maybeAddFeatureNoise}. */
export interface FeatureNoiseOptions {
  /** Probability that this step gets noise at all. */
  probability: number;
  /** Share of each image's H x W positions that get noise (rounded to a whole count). */
  fraction: number;
  /** Standard deviation of the noise. */
  std: number;
}

/** What {@linkcode maybeAddFeatureNoise} did. */
export interface FeatureNoiseResult {
  /** The features, noisy where `applied`; the inputs themselves otherwise. */
  features: tf.Tensor4D[];
  applied: boolean;
}

/**
 * A {0, 1} mask [B, H, W, 1] with exactly `round(fraction * H * W)` ones per image, chosen by
 * `rng`. (The released code draws each position independently with p 0.5; an exact count keeps
 * the amount of noise the same every step.)
 */
export function spatialNoiseMask(
  batch: number,
  height: number,
  width: number,
  fraction: number,
  rng: () => number,
): tf.Tensor4D {
  const positions = height * width;
  const count = Math.round(fraction * positions);
  const values = new Float32Array(batch * positions);
  const order = new Int32Array(positions);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < positions; i++) order[i] = i;
    // Partial Fisher-Yates: the first `count` entries become a uniform random subset.
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(rng() * (positions - i));
      const chosen = order[j];
      order[j] = order[i];
      order[i] = chosen;
      values[b * positions + chosen] = 1;
    }
  }
  return tf.tensor4d(values, [batch, height, width, 1]);
}

/**
 * With probability `options.probability` (one draw of `rng` per call, i.e. per step), adds
 * N(0, std^2) noise to every scale at `fraction` of its spatial positions (all channels of a
 * chosen position), with an independent mask per scale and image, as the released code does.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { maybeAddFeatureNoise } from "./feature_noise.ts";
 * import { mulberry32 } from "../util/random.ts";
 * const { features, applied } = maybeAddFeatureNoise(
 *   [tf.zeros([2, 4, 4, 3])],
 *   { probability: 1, fraction: 0.5, std: 1 },
 *   mulberry32(0),
 * );
 * ```
 */
export function maybeAddFeatureNoise(
  features: tf.Tensor4D[],
  options: FeatureNoiseOptions,
  rng: () => number,
): FeatureNoiseResult {
  if (!(rng() < options.probability)) return { features, applied: false };
  const noisy = features.map((feature) => {
    const [batch, height, width] = feature.shape;
    return tf.tidy(() => {
      const mask = spatialNoiseMask(batch, height, width, options.fraction, rng);
      const noiseSeed = Math.floor(rng() * 2 ** 31);
      const noise = tf.randomNormal(feature.shape, 0, options.std, "float32", noiseSeed);
      return tf.add(feature, tf.mul(noise, mask)) as tf.Tensor4D;
    });
  });
  return { features: noisy, applied: true };
}
