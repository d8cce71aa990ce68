/**
 * Separable Gaussian blur of anomaly maps, matching `scipy.ndimage.gaussian_filter`
 * (which the RD evaluation code applies with sigma 4): kernel radius round(truncate · sigma)
 * with truncate 4 (size 2·round(4σ)+1 = 33 for σ = 4), weights normalised to sum 1, and by
 * default scipy's "reflect" border (half-sample symmetric: d c b a | a b c d | d c b a,
 * repeated when the radius exceeds the map). "zero" pads with zeros instead, so borders darken.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** How the blur extends a map beyond its border. */
export type BlurPadding = "reflect" | "zero";

/** Options of {@linkcode gaussianBlur}. */
export interface GaussianBlurOptions {
  /** Standard deviation in pixels (default 4, as RD). */
  sigma?: number;
  /** The kernel reaches round(truncate · sigma) pixels each side (default 4, as scipy). */
  truncate?: number;
  /** Border handling (default "reflect", as scipy). */
  padding?: BlurPadding;
}

/**
 * The normalised 1-D Gaussian kernel of length 2·round(truncate·sigma)+1.
 *
 * @example
 * ```ts
 * import { gaussianKernel1d } from "./gaussian_blur.ts";
 * const k = gaussianKernel1d(4);
 * if (k.length !== 33) throw new Error("sigma 4 -> 33 taps");
 * ```
 */
export function gaussianKernel1d(sigma: number, truncate = 4): Float32Array {
  if (!(sigma > 0) || !Number.isFinite(sigma) || !(truncate > 0)) {
    throw new Error(
      `lib/methods/gaussian_blur.ts: need sigma > 0 and truncate > 0, got ${sigma}, ${truncate}`,
    );
  }
  const radius = Math.round(truncate * sigma);
  const weights = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-0.5 * (i * i) / (sigma * sigma));
    weights[i + radius] = w;
    sum += w;
  }
  return Float32Array.from(weights, (w) => w / sum);
}

/** Source index of padded position `i` (may be outside [0, n)) under scipy's "reflect". */
export function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

/** Pads `x` by `radius` on both sides of `axis` (1 or 2 of [B, H, W, 1]). */
function padAxis(x: tf.Tensor4D, axis: 1 | 2, radius: number, padding: BlurPadding): tf.Tensor4D {
  const n = x.shape[axis];
  if (padding === "zero") {
    const pads: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
    pads[axis] = [radius, radius];
    return tf.pad(x, pads);
  }
  const indices = new Int32Array(n + 2 * radius);
  for (let i = 0; i < indices.length; i++) indices[i] = reflectIndex(i - radius, n);
  return tf.tidy(() => tf.gather(x, tf.tensor1d(indices, "int32"), axis));
}

/**
 * Blurs each map of [B, H, W] with a separable Gaussian; returns [B, H, W].
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { gaussianBlur } from "./gaussian_blur.ts";
 * const flat = gaussianBlur(tf.ones([1, 8, 8]), { sigma: 2 });
 * // A constant map stays constant under "reflect" padding.
 * ```
 */
export function gaussianBlur(maps: tf.Tensor3D, options: GaussianBlurOptions = {}): tf.Tensor3D {
  if (maps.rank !== 3) {
    throw new Error(`lib/methods/gaussian_blur.ts: expected maps [B, H, W], got [${maps.shape}]`);
  }
  const padding = options.padding ?? "reflect";
  if (padding !== "reflect" && padding !== "zero") {
    throw new Error(`lib/methods/gaussian_blur.ts: unknown padding "${padding}"`);
  }
  const kernel = gaussianKernel1d(options.sigma ?? 4, options.truncate ?? 4);
  const radius = (kernel.length - 1) / 2;
  const [batch, height, width] = maps.shape;
  return tf.tidy(() => {
    const x = tf.reshape(maps, [batch, height, width, 1]) as tf.Tensor4D;
    const vertical = tf.tensor4d(kernel, [kernel.length, 1, 1, 1]);
    const horizontal = tf.tensor4d(kernel, [1, kernel.length, 1, 1]);
    const blurredRows = tf.conv2d(padAxis(x, 1, radius, padding), vertical, 1, "valid");
    const blurred = tf.conv2d(padAxis(blurredRows, 2, radius, padding), horizontal, 1, "valid");
    return tf.reshape(blurred, [batch, height, width]) as tf.Tensor3D;
  });
}
