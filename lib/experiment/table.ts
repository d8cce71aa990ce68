/**
 * Markdown tables of evaluation results: one run, or several runs side by side.
 * @module
 */

/** Per-class and mean values of named metrics, as `lib/metrics` returns them. */
export interface MetricsTableInput {
  perClass: Record<string, Record<string, number>>;
  mean: Record<string, number>;
}

/** One column group of a comparison: a label and its results. */
export interface LabelledResult {
  label: string;
  result: MetricsTableInput;
}

/** Formats a metric in [0, 1] as a percentage with one decimal; NaN as `n/a`. */
export function formatPercent(value: number): string {
  return Number.isFinite(value) ? (value * 100).toFixed(1) : "n/a";
}

/**
 * A markdown table with one row per class plus the mean, one column per metric; each cell holds
 * the runs' values side by side (`a / b / c`, in the order given).
 *
 * @example
 * ```ts
 * import { comparisonTable } from "./table.ts";
 * const r = { perClass: { a: { auroc: 0.5 } }, mean: { auroc: 0.5 } };
 * const md = comparisonTable([{ label: "x", result: r }], [["auroc", "I-AUROC"]]);
 * if (!md.includes("50.0")) throw new Error(md);
 * ```
 */
export function comparisonTable(
  runs: LabelledResult[],
  metrics: ReadonlyArray<readonly [key: string, label: string]>,
): string {
  if (runs.length === 0) throw new Error("comparisonTable needs at least one run");
  const classes = [...new Set(runs.flatMap((run) => Object.keys(run.result.perClass)))].sort();
  const cell = (values: Record<string, number> | undefined, key: string) =>
    formatPercent(values?.[key] ?? NaN);
  const row = (name: string, pick: (run: LabelledResult) => Record<string, number> | undefined) =>
    `| ${name} | ${
      metrics.map(([key]) => runs.map((run) => cell(pick(run), key)).join(" / ")).join(" | ")
    } |`;
  const header = `| class | ${metrics.map(([, label]) => label).join(" | ")} |`;
  const rule = `|---|${metrics.map(() => "---").join("|")}|`;
  const legend = runs.length > 1
    ? `Each cell: ${runs.map((run) => run.label).join(" / ")} (%).\n\n`
    : `${runs[0].label} (%).\n\n`;
  return legend + [
    header,
    rule,
    ...classes.map((name) => row(name, (run) => run.result.perClass[name])),
    row("**mean**", (run) => run.result.mean),
  ].join("\n") + "\n";
}
