/**
 * Average precision, as scikit-learn's `average_precision_score` computes it.
 * @module
 */

import { binaryCurve, type ThresholdCurve } from "./threshold_curve.ts";

/**
 * AP = sum over distinct thresholds (descending) of (R_n - R_{n-1}) * P_n, with R_0 = 0: the
 * step-wise area under the precision-recall curve, without interpolation.
 * Throws on mismatched lengths, labels other than 0/1, NaN scores, or a single label class.
 *
 * @example
 * ```ts
 * import { averagePrecision } from "./average_precision.ts";
 * averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.8333...
 * ```
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return averagePrecisionFromCurve(
    binaryCurve(scores, labels, "averagePrecision", "average precision"),
  );
}

/** Average precision of a threshold curve with unit weights. */
export function averagePrecisionFromCurve(curve: ThresholdCurve): number {
  const { truePositives, falsePositives, totalPositive } = curve;
  let sum = 0;
  let previousTp = 0;
  for (let k = 0; k < truePositives.length; k++) {
    const tp = truePositives[k];
    if (tp !== previousTp) sum += (tp - previousTp) * (tp / (tp + falsePositives[k]));
    previousTp = tp;
  }
  return sum / totalPositive;
}
