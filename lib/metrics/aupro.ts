/**
 * AUPRO: the normalised area under the per-region-overlap curve up to a false-positive-rate
 * limit (Bergmann et al., MVTec AD), computed exactly over every distinct threshold.
 * @module
 */

import { poolPixels } from "./pixel_pool.ts";
import { sweepThresholds, type ThresholdCurve } from "./threshold_curve.ts";
import { checkFprLimit } from "./validate.ts";

/**
 * AUPRO of anomaly `maps` (row-major float32, `height * width` each, higher = more anomalous)
 * against binary `masks` (0/1; all zeros for normal images).
 *
 * At every distinct threshold t of the map values: FPR = share of all normal pixels (mask 0,
 * over all images) scoring >= t; PRO = mean over all anomaly regions (8-connected components of
 * each mask) of the share of the region's pixels scoring >= t. The curve (FPR, PRO) starts at
 * (0, 0), is cut at `fprLimit` with linear interpolation, integrated by trapezoids and divided
 * by `fprLimit`. Throws on bad shapes, non-binary masks, NaN map values, or when there is no
 * anomaly region or no normal pixel.
 *
 * @example
 * ```ts
 * import { aupro } from "./aupro.ts";
 * const maps = [new Float32Array([0.9, 0.1, 0.8, 0.2])];
 * const masks = [new Uint8Array([1, 0, 1, 0])];
 * aupro(maps, masks, [2, 2]); // 1 (both anomalous pixels outscore every normal one)
 * ```
 */
export function aupro(
  maps: readonly Float32Array[],
  masks: readonly Uint8Array[],
  shape: readonly [height: number, width: number],
  fprLimit = 0.3,
): number {
  checkFprLimit(fprLimit, "aupro");
  const pool = poolPixels(maps, masks, shape, "aupro");
  if (pool.regionCount === 0) {
    throw new Error("aupro: the masks contain no anomalous pixel; AUPRO is undefined");
  }
  if (pool.normalKeys.length === 0) {
    throw new Error("aupro: the masks contain no normal pixel; AUPRO is undefined");
  }
  return auproFromCurve(
    sweepThresholds(pool.anomalousKeys, pool.normalKeys, pool.regionWeights),
    fprLimit,
  );
}

/**
 * AUPRO of a threshold curve whose positive weights are 1 / region size per anomalous pixel
 * (so `truePositives / totalPositive` is the mean region overlap).
 */
export function auproFromCurve(curve: ThresholdCurve, fprLimit: number): number {
  checkFprLimit(fprLimit, "auproFromCurve");
  const { truePositives, falsePositives, totalPositive, totalNegative } = curve;
  let area = 0;
  let previousFpr = 0;
  let previousPro = 0;
  for (let k = 0; k < truePositives.length; k++) {
    const fpr = falsePositives[k] / totalNegative;
    const pro = truePositives[k] / totalPositive;
    if (fpr > fprLimit) {
      const proAtLimit = previousPro +
        (pro - previousPro) * (fprLimit - previousFpr) / (fpr - previousFpr);
      area += (fprLimit - previousFpr) * (previousPro + proAtLimit) / 2;
      return area / fprLimit;
    }
    area += (fpr - previousFpr) * (previousPro + pro) / 2;
    previousFpr = fpr;
    previousPro = pro;
  }
  // The last point has FPR = 1 >= fprLimit, so the curve always reaches the limit.
  return area / fprLimit;
}
