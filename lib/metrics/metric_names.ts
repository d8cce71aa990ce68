/**
 * The names, order and table labels of the evaluation metrics.
 * @module
 */

/**
 * The evaluation metrics in table order: image-level AUROC, AP and F1max, pixel-level AUROC, AP
 * and F1max, AUPRO, and mAD (the mean of the other seven).
 */
export const METRIC_NAMES = [
  "iAuroc",
  "iAp",
  "iF1Max",
  "pAuroc",
  "pAp",
  "pF1Max",
  "aupro",
  "mAD",
] as const;

/** One of {@linkcode METRIC_NAMES}. */
export type MetricName = typeof METRIC_NAMES[number];

/** A value for every metric; each lies in [0, 1] or is NaN when undefined for the data. */
export type MetricSet = Record<MetricName, number>;

/** Column headers for tables, as the papers and the ADer benchmark write them. */
export const METRIC_LABELS: Readonly<Record<MetricName, string>> = {
  iAuroc: "I-AUROC",
  iAp: "I-AP",
  iF1Max: "I-F1max",
  pAuroc: "P-AUROC",
  pAp: "P-AP",
  pF1Max: "P-F1max",
  aupro: "AUPRO",
  mAD: "mAD",
};

/** The seven metrics whose mean is mAD. */
export const MAD_COMPONENTS: readonly MetricName[] = METRIC_NAMES.filter((name) => name !== "mAD");
