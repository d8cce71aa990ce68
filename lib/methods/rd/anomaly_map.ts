/**
 * RD's anomaly map: per scale and pixel, 1 - cosine over channels between encoder features and
 * their reconstruction; each scale bilinearly upsampled to the input size (half-pixel
 * centres, i.e. PyTorch's `align_corners=False`), combined by mean (or sum) and blurred with a
 * Gaussian (sigma 4). The image score is the map's maximum.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import { type BlurPadding, gaussianBlur } from "../gaussian_blur.ts";
import type { MapReduction } from "./config.ts";
import { cosineDistanceMap } from "../components/cosine.ts";

export { cosineDistanceMap } from "../components/cosine.ts";
export { maxScores } from "../components/scores.ts";

/** Options of {@linkcode rdAnomalyMap}. */
export interface AnomalyMapOptions {
  /** "mean" (default) or "sum" over scales. */
  reduction?: MapReduction;
  /** Gaussian blur sigma in pixels (default 4); 0 disables the blur. */
  sigma?: number;
  /** Blur border handling (default "reflect"). */
  padding?: BlurPadding;
}

/**
 * Anomaly maps [B, H, W] at `size` = [H, W] from encoder maps and their reconstructions.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { rdAnomalyMap } from "./anomaly_map.ts";
 * const f = [tf.randomNormal([1, 8, 8, 4], 0, 1, "float32", 1) as tf.Tensor4D];
 * const map = rdAnomalyMap(f, f, [32, 32]); // all (near) zero
 * ```
 */
export function rdAnomalyMap(
  encoder: readonly tf.Tensor4D[],
  decoder: readonly tf.Tensor4D[],
  size: [number, number],
  options: AnomalyMapOptions = {},
): tf.Tensor3D {
  if (encoder.length === 0 || encoder.length !== decoder.length) {
    throw new Error(
      `lib/methods/rd/anomaly_map.ts: need as many decoder maps as encoder maps (> 0), got ` +
        `${decoder.length} and ${encoder.length}`,
    );
  }
  const reduction = options.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum") {
    throw new Error(`lib/methods/rd/anomaly_map.ts: unknown reduction "${reduction}"`);
  }
  const sigma = options.sigma ?? 4;
  return tf.tidy(() => {
    const upsampled = encoder.map((e, s) => {
      const distance = tf.expandDims(cosineDistanceMap(e, decoder[s]), 3) as tf.Tensor4D;
      return tf.squeeze(tf.image.resizeBilinear(distance, size, false, true), [3]) as tf.Tensor3D;
    });
    const summed = addN(upsampled) as tf.Tensor3D;
    const combined = reduction === "mean" ? tf.div(summed, encoder.length) as tf.Tensor3D : summed;
    return sigma > 0 ? gaussianBlur(combined, { sigma, padding: options.padding }) : combined;
  });
}
