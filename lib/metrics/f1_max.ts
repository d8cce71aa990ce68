/**
 * The best F1 score over all thresholds (F1max), as the ADer benchmark reports it.
 * @module
 */

import { binaryCurve, type ThresholdCurve } from "./threshold_curve.ts";

/**
 * F1max = max over distinct thresholds of 2PR / (P + R), where a threshold with P + R = 0
 * scores 0. Throws on mismatched lengths, labels other than 0/1, NaN scores, or a single label
 * class.
 *
 * @example
 * ```ts
 * import { f1Max } from "./f1_max.ts";
 * f1Max([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.8
 * ```
 */
export function f1Max(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return f1MaxFromCurve(binaryCurve(scores, labels, "f1Max", "F1max"));
}

/** F1max of a threshold curve with unit weights. */
export function f1MaxFromCurve(curve: ThresholdCurve): number {
  const { truePositives, falsePositives, totalPositive } = curve;
  let best = 0;
  for (let k = 0; k < truePositives.length; k++) {
    const tp = truePositives[k];
    // With P = tp / (tp + fp) and R = tp / totalPositive, 2PR / (P + R) simplifies to
    // 2 tp / (tp + fp + totalPositive), which is 0 exactly when P + R = 0.
    const f1 = (2 * tp) / (tp + falsePositives[k] + totalPositive);
    if (f1 > best) best = f1;
  }
  return best;
}
