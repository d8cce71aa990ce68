/**
 * DMAD's anomaly map: RD's per-scale residual (1 - cosine between the target features and the
 * *warped* reconstruction, upsampled and combined over scales) plus `deformationWeight` times
 * the deformation magnitude (|offset| / maxOffset per scale, upsampled and averaged), blurred
 * with a Gaussian. The image score is the map's maximum.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BlurPadding, gaussianBlur } from "../gaussian_blur.ts";
import { rdAnomalyMap } from "../rd/anomaly_map.ts";
import type { MapReduction } from "../rd/config.ts";

export { maxScores } from "../components/scores.ts";

/** Options of {@linkcode dmadAnomalyMap}. */
export interface DMADMapOptions {
  /** Weight of the deformation magnitude against the residual. */
  deformationWeight: number;
  /** The offsets' bound (magnitudes are divided by it). */
  maxOffset: number;
  /** "mean" (default) or "sum" over scales, for both parts. */
  reduction?: MapReduction;
  /** Gaussian blur sigma in pixels (default 4); 0 disables the blur. */
  sigma?: number;
  /** Blur border handling (default "reflect"). */
  padding?: BlurPadding;
}

/**
 * Anomaly maps [B, H, W] at `size` from targets, warped reconstructions and their offsets.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { dmadAnomalyMap } from "./anomaly_map.ts";
 * const f = [tf.ones([1, 4, 4, 2]) as tf.Tensor4D];
 * const o = [tf.zeros([1, 4, 4, 2]) as tf.Tensor4D];
 * const map = dmadAnomalyMap(f, f, o, [16, 16], { deformationWeight: 1, maxOffset: 2 }); // zeros
 * ```
 */
export function dmadAnomalyMap(
  targets: readonly tf.Tensor4D[],
  warped: readonly tf.Tensor4D[],
  offsets: readonly tf.Tensor4D[],
  size: [number, number],
  options: DMADMapOptions,
): tf.Tensor3D {
  if (offsets.length !== targets.length) {
    throw new Error(
      `lib/methods/dmad/anomaly_map.ts: need one offset field per scale (${targets.length}), ` +
        `got ${offsets.length}`,
    );
  }
  const reduction = options.reduction ?? "mean";
  const sigma = options.sigma ?? 4;
  return tf.tidy(() => {
    const residual = rdAnomalyMap(targets, warped, size, { reduction, sigma: 0 });
    const magnitudes = offsets.map((o) => {
      const magnitude = tf.div(tf.sqrt(tf.sum(tf.square(o), 3, true)), options.maxOffset);
      return tf.squeeze(
        tf.image.resizeBilinear(magnitude as tf.Tensor4D, size, false, true),
        [3],
      ) as tf.Tensor3D;
    });
    const summed = tf.addN(magnitudes);
    const deformation = reduction === "mean" ? tf.div(summed, offsets.length) : summed;
    const combined = tf.add(
      residual,
      tf.mul(deformation, options.deformationWeight),
    ) as tf.Tensor3D;
    return sigma > 0 ? gaussianBlur(combined, { sigma, padding: options.padding }) : combined;
  });
}
