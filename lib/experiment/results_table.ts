/**
 * The metrics table of one or more runs, with the metric names and labels of `lib/metrics`.
 * @module
 */
import { METRIC_LABELS, METRIC_NAMES } from "../metrics/metric_names.ts";
import { comparisonTable, type LabelledResult } from "./table.ts";

/** The 7 metrics + mAD, per class and mean, for the runs side by side. */
export function metricsTable(runs: LabelledResult[]): string {
  return comparisonTable(runs, METRIC_NAMES.map((name) => [name, METRIC_LABELS[name]] as const));
}
