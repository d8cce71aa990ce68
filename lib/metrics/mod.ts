/**
 * Evaluation metrics for anomaly detection: image- and pixel-level AUROC, average precision and
 * F1max with scikit-learn's tie handling, exact AUPRO, and the per-class protocol of the paper
 * and the ADer benchmark ({@linkcode evaluate}).
 *
 * @example
 * ```ts
 * import { auroc, averagePrecision, f1Max } from "./mod.ts";
 * const scores = [0.1, 0.4, 0.35, 0.8];
 * const labels = [0, 0, 1, 1];
 * auroc(scores, labels); // 0.75
 * averagePrecision(scores, labels); // 0.8333...
 * f1Max(scores, labels); // 0.8
 * ```
 * @module
 */

export { auroc, aurocFromCurve } from "./roc.ts";
export { averagePrecision, averagePrecisionFromCurve } from "./average_precision.ts";
export { f1Max, f1MaxFromCurve } from "./f1_max.ts";
export { aupro, auproFromCurve } from "./aupro.ts";
export {
  type PixelMetricOptions,
  type PixelMetrics,
  pixelMetrics,
  type PixelMetricsResult,
} from "./pixel_metrics.ts";
export { type Components, connectedComponents, type Connectivity } from "./connected_components.ts";
export { binaryCurve, sweepThresholds, type ThresholdCurve } from "./threshold_curve.ts";
export { evaluate, type EvaluationInput, type EvaluationResult } from "./evaluate.ts";
export {
  MAD_COMPONENTS,
  METRIC_LABELS,
  METRIC_NAMES,
  type MetricName,
  type MetricSet,
} from "./metric_names.ts";
