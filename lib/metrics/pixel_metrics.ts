/**
 * All pixel-level metrics of a set of maps from one sort of their pixels.
 * @module
 */

import { auproFromCurve } from "./aupro.ts";
import { averagePrecisionFromCurve } from "./average_precision.ts";
import { f1MaxFromCurve } from "./f1_max.ts";
import { poolPixels } from "./pixel_pool.ts";
import { aurocFromCurve } from "./roc.ts";
import { sweepThresholds } from "./threshold_curve.ts";
import { checkFprLimit } from "./validate.ts";

/** P-AUROC, P-AP, P-F1max (all pixels pooled) and AUPRO of one set of maps. */
export interface PixelMetrics {
  pAuroc: number;
  pAp: number;
  pF1Max: number;
  aupro: number;
}

/** Options of {@linkcode pixelMetrics}. */
export interface PixelMetricOptions {
  /** FPR limit of AUPRO, in (0, 1]. Default 0.3. */
  fprLimit?: number;
  /** Original index of each map, for error messages when the maps are a subset. */
  imageIndices?: readonly number[];
  /** Caller name for error messages. Default "pixelMetrics". */
  where?: string;
}

/** The four pixel metrics, or NaN for each and the reason when they are undefined. */
export interface PixelMetricsResult {
  metrics: PixelMetrics;
  /** Why the metrics are NaN (no anomalous or no normal pixel); absent when defined. */
  undefinedReason?: string;
}

/**
 * Pixel-level AUROC, AP and F1max over all pixels of `maps` against `masks`, and AUPRO up to
 * `fprLimit`; the pixels are sorted once for all four. When the masks hold no anomalous pixel
 * or no normal pixel, all four are undefined: each is NaN and `undefinedReason` says why
 * (errors in the input still throw).
 *
 * @example
 * ```ts
 * import { pixelMetrics } from "./pixel_metrics.ts";
 * const maps = [new Float32Array([0.9, 0.1, 0.8, 0.2])];
 * const masks = [new Uint8Array([1, 0, 1, 0])];
 * pixelMetrics(maps, masks, [2, 2]).metrics.pAuroc; // 1
 * ```
 */
export function pixelMetrics(
  maps: readonly Float32Array[],
  masks: readonly Uint8Array[],
  shape: readonly [number, number],
  options: PixelMetricOptions = {},
): PixelMetricsResult {
  const { fprLimit = 0.3, imageIndices, where = "pixelMetrics" } = options;
  checkFprLimit(fprLimit, where);
  const pool = poolPixels(maps, masks, shape, where, imageIndices);
  const missing = pool.regionCount === 0
    ? "no anomalous pixel"
    : pool.normalKeys.length === 0
    ? "no normal pixel"
    : undefined;
  if (missing !== undefined) {
    return {
      metrics: { pAuroc: NaN, pAp: NaN, pF1Max: NaN, aupro: NaN },
      undefinedReason: `the masks contain ${missing}`,
    };
  }
  const unit = sweepThresholds(pool.anomalousKeys, pool.normalKeys);
  const metrics = {
    pAuroc: aurocFromCurve(unit),
    pAp: averagePrecisionFromCurve(unit),
    pF1Max: f1MaxFromCurve(unit),
    aupro: NaN,
  };
  const weighted = sweepThresholds(pool.anomalousKeys, pool.normalKeys, pool.regionWeights);
  metrics.aupro = auproFromCurve(weighted, fprLimit);
  return { metrics };
}
