/**
 * Our numbers next to the paper's: one row per cell and metric (ours, the paper's, the
 * difference), as a Markdown table and as a Vega-Lite chart. A cell whose runs were not made
 * shows why, never a number.
 * @module
 */
import type { MetricSet } from "../metrics/metric_names.ts";
import { finishSpec } from "../plots/palette.ts";
import type { VegaLiteSpec } from "../plots/render.ts";
import {
  METHOD_TITLES,
  PAPER_METRIC_TITLES,
  type PaperMetric,
  type StrategyLabel,
  TARGET_TITLES,
} from "./paper_tables.ts";
import type { TablePlan } from "./plan.ts";

/** What became of one planned run. */
export type RunOutcome =
  | { status: "done"; mean: MetricSet; resumed: boolean }
  | { status: "unavailable"; reason: string };

/** One cell and metric of the side-by-side table. Values in percent. */
export interface SideBySideRow {
  method: string;
  strategy: StrategyLabel;
  /** The paper's column. */
  paperOn: string;
  /** What our number was measured on. */
  oursOn: string;
  metric: PaperMetric;
  ours?: number;
  paper?: number;
  /** ours - paper, when both exist. */
  difference?: number;
  /** Why there is no number of ours. */
  note?: string;
}

const METRIC_TITLES = PAPER_METRIC_TITLES;

/**
 * The rows of the side-by-side table: for every cell of the plan and metric of the table, our
 * number (mean over the cell's runs of their class-mean metric, in percent), the paper's, and
 * the difference.
 */
export function sideBySide(
  plan: TablePlan,
  outcomes: ReadonlyMap<string, RunOutcome>,
): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  for (const cell of plan.cells) {
    const done: MetricSet[] = [];
    let note = cell.skipped;
    for (const name of cell.runs) {
      const outcome = outcomes.get(name);
      if (outcome?.status === "done") done.push(outcome.mean);
      else note ??= outcome?.status === "unavailable" ? outcome.reason : `run ${name} not made`;
    }
    const complete = cell.runs.length > 0 && done.length === cell.runs.length;
    for (const metric of plan.paper.metrics) {
      const ours = complete ? 100 * mean(done.map((m) => m[metric])) : undefined;
      const paper = cell.paper[metric];
      const row: SideBySideRow = {
        method: cell.method,
        strategy: cell.strategy,
        paperOn: TARGET_TITLES[cell.target],
        oursOn: cell.oursOn,
        metric,
      };
      if (ours !== undefined && Number.isFinite(ours)) row.ours = ours;
      if (paper !== undefined) row.paper = paper;
      if (row.ours !== undefined && row.paper !== undefined) {
        row.difference = row.ours - row.paper;
      }
      if (!complete && note) row.note = note;
      rows.push(row);
    }
  }
  return rows;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * A number as the table prints it: one decimal, `n/a` when the paper gives none, `—` when we
 * have none; differences carry their sign.
 *
 * @example
 * ```ts
 * import { formatCell } from "./side_by_side.ts";
 * if (formatCell(99.25) !== "99.3" || formatCell(-1.04, true) !== "-1.0") throw new Error();
 * if (formatCell(0.04, true) !== "+0.0" || formatCell(undefined) !== "—") throw new Error();
 * ```
 */
export function formatCell(value: number | undefined, signed = false, missing = "—"): string {
  if (value === undefined || !Number.isFinite(value)) return missing;
  const text = value.toFixed(1);
  return signed && value >= 0 ? `+${text}` : text;
}

/** The Markdown table: one line per cell, ours / paper / difference for each metric. */
export function sideBySideMarkdown(plan: TablePlan, rows: readonly SideBySideRow[]): string {
  const metrics = plan.paper.metrics;
  const header = [
    "method",
    "strategy",
    "paper's data",
    "ours on",
    ...metrics.flatMap((m) => [`${METRIC_TITLES[m]} ours`, "paper", "Δ"]),
    "note",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (let i = 0; i < rows.length; i += metrics.length) {
    const group = rows.slice(i, i + metrics.length);
    const first = group[0];
    const values = group.flatMap((row) => [
      formatCell(row.ours),
      formatCell(row.paper, false, "n/a"),
      formatCell(row.difference, true),
    ]);
    lines.push(
      `| ${
        [
          METHOD_TITLES[first.method] ?? first.method,
          first.strategy,
          first.paperOn,
          first.oursOn,
          ...values,
          first.note ?? "",
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * A bar chart of ours next to the paper's, one panel per metric, one bar pair per cell that has
 * at least one of the two numbers.
 */
export function sideBySideChart(plan: TablePlan, rows: readonly SideBySideRow[]): VegaLiteSpec {
  const [oursLabel, paperLabel] = plan.mode === "embedded"
    ? ["ours (synthetic stand-in)", "paper (real data)"]
    : ["ours", "paper"];
  const values = rows.flatMap((row) => {
    const label = `${METHOD_TITLES[row.method] ?? row.method} ${row.strategy} · ${row.paperOn}`;
    const metric = METRIC_TITLES[row.metric];
    const bars = [];
    if (row.ours !== undefined) {
      bars.push({ cell: label, metric, source: oursLabel, value: row.ours });
    }
    if (row.paper !== undefined) {
      bars.push({ cell: label, metric, source: paperLabel, value: row.paper });
    }
    return bars;
  });
  return finishSpec({
    title: { text: wrapWords(plan.title, 64) },
    data: { values },
    mark: "bar",
    encoding: {
      row: {
        field: "metric",
        type: "nominal",
        title: null,
        sort: plan.paper.metrics.map((m) => METRIC_TITLES[m]),
      },
      y: { field: "cell", type: "nominal", title: null, sort: null },
      yOffset: { field: "source", type: "nominal", sort: [oursLabel, paperLabel] },
      x: {
        field: "value",
        type: "quantitative",
        title: "% (mean over classes)",
        scale: { domain: [0, 100] },
      },
      color: {
        field: "source",
        type: "nominal",
        title: null,
        scale: { domain: [oursLabel, paperLabel], range: ["#4c78a8", "#bbbbbb"] },
      },
      tooltip: [
        { field: "cell", type: "nominal" },
        { field: "metric", type: "nominal" },
        { field: "source", type: "nominal" },
        { field: "value", type: "quantitative", format: ".1f" },
      ],
    },
    width: 360,
  });
}

/** `text` broken into lines of at most `width` characters at spaces. */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}
