/**
 * Per-class metric deltas between two runs (e.g. joint -> joint + CCL, one-for-one -> joint),
 * read from their `metrics.json`.
 * @module
 */
import { join } from "@std/path";
import { METRIC_NAMES, type MetricName } from "../metrics/metric_names.ts";

/** The part of a run's `metrics.json` the deltas need. */
export interface RunMetrics {
  name: string;
  perClass: Record<string, Record<MetricName, number>>;
  mean: Record<MetricName, number>;
}

/** `other - base` per class (and the mean) for every metric. */
export interface MetricDeltas {
  base: string;
  other: string;
  /** Classes both runs evaluated, sorted. */
  classes: string[];
  perClass: Record<string, Record<MetricName, number>>;
  mean: Record<MetricName, number>;
  /** Classes only one of the runs has (not compared). */
  unmatched: string[];
}

/** Reads `runDir/metrics.json`; a missing or malformed file is an error naming it. */
export async function readRunMetrics(runDir: string): Promise<RunMetrics> {
  const path = join(runDir, "metrics.json");
  let parsed: {
    config?: { name?: string };
    perClass?: RunMetrics["perClass"];
    mean?: RunMetrics["mean"];
  };
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: not found; is ${runDir} a finished run folder?`);
    }
    throw new Error(`${path}: cannot read it (${(error as Error).message})`);
  }
  if (!parsed?.perClass || !parsed.mean || typeof parsed.perClass !== "object") {
    throw new Error(`${path}: expected "perClass" and "mean" metrics`);
  }
  return { name: parsed.config?.name ?? runDir, perClass: parsed.perClass, mean: parsed.mean };
}

/**
 * Deltas `other - base` per class and metric.
 *
 * @example
 * ```ts
 * import { metricDeltas } from "./metric_deltas.ts";
 * const m = (v: number) => ({ iAuroc: v, iAp: v, iF1Max: v, pAuroc: v, pAp: v, pF1Max: v, aupro: v, mAD: v });
 * const d = metricDeltas(
 *   { name: "joint", perClass: { a: m(0.8) }, mean: m(0.8) },
 *   { name: "joint+CCL", perClass: { a: m(0.9) }, mean: m(0.9) },
 * );
 * // d.perClass.a.iAuroc ≈ 0.1
 * ```
 */
export function metricDeltas(base: RunMetrics, other: RunMetrics): MetricDeltas {
  const inBase = new Set(Object.keys(base.perClass));
  const inOther = new Set(Object.keys(other.perClass));
  const classes = [...inBase].filter((c) => inOther.has(c)).sort();
  if (classes.length === 0) {
    throw new Error(`runs ${base.name} and ${other.name} share no class; nothing to compare`);
  }
  const diff = (a: Record<MetricName, number>, b: Record<MetricName, number>) =>
    Object.fromEntries(METRIC_NAMES.map((m) => [m, b[m] - a[m]])) as Record<MetricName, number>;
  return {
    base: base.name,
    other: other.name,
    classes,
    perClass: Object.fromEntries(
      classes.map((c) => [c, diff(base.perClass[c], other.perClass[c])]),
    ),
    mean: diff(base.mean, other.mean),
    unmatched: [...new Set([...inBase, ...inOther])].filter((c) => !classes.includes(c)).sort(),
  };
}
