/**
 * The cumulative counts behind ROC and PR curves: one point per distinct score threshold, as
 * scikit-learn's `roc_curve` / `precision_recall_curve` build them (ties share one threshold).
 * @module
 */

import { float32Bits, float32BitsToKey, radixSortKeys } from "./sort.ts";
import { checkBothClassesPresent, checkScoresAndLabels } from "./validate.ts";

/**
 * Point k holds, for the k-th largest distinct threshold t, the (weighted) number of positives and
 * of negatives scoring >= t. The last point holds the totals.
 */
export interface ThresholdCurve {
  /** Cumulative positive weight per distinct threshold, thresholds descending. */
  truePositives: Float64Array;
  /** Cumulative negative count per distinct threshold, thresholds descending. */
  falsePositives: Float64Array;
  /** Total positive weight (the count, when unweighted). */
  totalPositive: number;
  /** Number of negatives. */
  totalNegative: number;
}

/**
 * Sweeps thresholds from the largest score down over two ascending-sorted score lists.
 * Scores may be float values or order-preserving keys (`sort.ts`); equal values are one
 * threshold. `positiveWeights[i]`, when given, is the weight of `positives[i]` (default 1).
 *
 * @example
 * ```ts
 * import { sweepThresholds } from "./threshold_curve.ts";
 * const curve = sweepThresholds([0.5, 0.9], [0.1, 0.5]);
 * // thresholds 0.9, 0.5, 0.1 -> truePositives [1, 2, 2], falsePositives [0, 1, 2]
 * ```
 */
export function sweepThresholds(
  positives: ArrayLike<number>,
  negatives: ArrayLike<number>,
  positiveWeights?: ArrayLike<number>,
): ThresholdCurve {
  if (positiveWeights !== undefined && positiveWeights.length !== positives.length) {
    throw new Error(
      `sweepThresholds: ${positiveWeights.length} weights for ${positives.length} positives`,
    );
  }
  const capacity = positives.length + negatives.length;
  const truePositives = new Float64Array(capacity);
  const falsePositives = new Float64Array(capacity);
  let i = positives.length - 1;
  let j = negatives.length - 1;
  let tp = 0;
  let fp = 0;
  let points = 0;
  while (i >= 0 || j >= 0) {
    let threshold: number;
    if (i < 0) threshold = negatives[j];
    else if (j < 0) threshold = positives[i];
    else {
      const p = positives[i];
      const q = negatives[j];
      threshold = p > q ? p : q;
    }
    if (positiveWeights === undefined) {
      while (i >= 0 && positives[i] === threshold) {
        tp++;
        i--;
      }
    } else {
      while (i >= 0 && positives[i] === threshold) tp += positiveWeights[i--];
    }
    while (j >= 0 && negatives[j] === threshold) {
      fp++;
      j--;
    }
    truePositives[points] = tp;
    falsePositives[points] = fp;
    points++;
  }
  return {
    truePositives: truePositives.subarray(0, points),
    falsePositives: falsePositives.subarray(0, points),
    totalPositive: tp,
    totalNegative: fp,
  };
}

/**
 * The threshold curve of binary `labels` (0/1) ranked by `scores` (higher = more positive).
 * Validates the input and throws when only one label class is present, naming `metric`.
 * Scores that are all exact float32 values take the radix-sort path; others are sorted as
 * float64, so no two distinct scores are ever merged.
 */
export function binaryCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  where: string,
  metric: string,
): ThresholdCurve {
  const binary = checkScoresAndLabels(scores, labels, where);
  let positiveCount = 0;
  for (let i = 0; i < binary.length; i++) positiveCount += binary[i];
  const negativeCount = binary.length - positiveCount;
  checkBothClassesPresent(positiveCount, negativeCount, where, metric);
  const float32 = asExactFloat32(scores);
  if (float32 !== undefined) {
    const bits = float32Bits(float32);
    const positives = new Uint32Array(positiveCount);
    const negatives = new Uint32Array(negativeCount);
    let p = 0;
    let q = 0;
    for (let i = 0; i < binary.length; i++) {
      const key = float32BitsToKey(bits[i]);
      if (binary[i] === 1) positives[p++] = key;
      else negatives[q++] = key;
    }
    const reuse = { reuseInput: true };
    return sweepThresholds(
      radixSortKeys(positives, undefined, reuse).keys,
      radixSortKeys(negatives, undefined, reuse).keys,
    );
  }
  const positives = new Float64Array(positiveCount);
  const negatives = new Float64Array(negativeCount);
  let p = 0;
  let q = 0;
  for (let i = 0; i < binary.length; i++) {
    if (binary[i] === 1) positives[p++] = scores[i];
    else negatives[q++] = scores[i];
  }
  return sweepThresholds(positives.sort(), negatives.sort());
}

/** `scores` as a Float32Array when every value is exactly a float32, else undefined. */
function asExactFloat32(scores: ArrayLike<number>): Float32Array | undefined {
  if (scores instanceof Float32Array) return scores;
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const value = scores[i];
    out[i] = value;
    if (out[i] !== value) return undefined;
  }
  return out;
}
