/**
 * Area under the ROC curve, as scikit-learn's `roc_auc_score` computes it for binary labels.
 * @module
 */

import { binaryCurve, type ThresholdCurve } from "./threshold_curve.ts";

/**
 * AUROC: the trapezoid area under (FPR, TPR) over the distinct score thresholds, starting at
 * (0, 0). Tied scores form one threshold, so ties count half (as in `roc_auc_score`).
 * Throws on mismatched lengths, labels other than 0/1, NaN scores, or a single label class.
 *
 * @example
 * ```ts
 * import { auroc } from "./roc.ts";
 * auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 * ```
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return aurocFromCurve(binaryCurve(scores, labels, "auroc", "AUROC"));
}

/** AUROC of a threshold curve with unit weights. */
export function aurocFromCurve(curve: ThresholdCurve): number {
  const { truePositives, falsePositives, totalPositive, totalNegative } = curve;
  // Summing twice the trapezoids in counts keeps every term an exact integer (below 2^53 for
  // any realistic count); only the final division rounds.
  let twiceArea = 0;
  let previousTp = 0;
  let previousFp = 0;
  for (let k = 0; k < truePositives.length; k++) {
    const tp = truePositives[k];
    const fp = falsePositives[k];
    twiceArea += (fp - previousFp) * (tp + previousTp);
    previousTp = tp;
    previousFp = fp;
  }
  return twiceArea / (2 * totalPositive * totalNegative);
}
