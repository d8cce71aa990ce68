/**
 * Collects a grid into one table: every done run's mean metrics, grouped by the axes other than
 * `seed` (method x strategy x dataset ...), as mean +- sample sd over seeds; runs that are not
 * done are listed by name with the reason and their log tail. Written as markdown, JSON and a
 * plot.
 * @module
 */
import { join } from "@std/path";
import { METRIC_LABELS, METRIC_NAMES, type MetricName } from "../metrics/metric_names.ts";
import { writeChart } from "../plots/render.ts";
import type { VegaLiteSpec } from "../plots/render.ts";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import type { GridPlan } from "./expand.ts";
import { gridLayout } from "./layout.ts";
import type { RunState, RunStatus } from "./run_state.ts";
import type { AxisValue } from "./spec.ts";

/** Mean and sample standard deviation of one metric over a group's runs (in [0, 1]). */
export interface MetricSummary {
  mean: number | null;
  /** Sample sd (n - 1); `null` for fewer than two values. */
  sd: number | null;
  values: number[];
}

/** One row of the table: the runs that differ only in seed. */
export interface GroupSummary {
  axes: Record<string, AxisValue>;
  /** Done runs in the group. */
  runs: string[];
  /** Runs planned in the group. */
  planned: number;
  metrics: Record<MetricName, MetricSummary>;
}

/** One run in the summary. */
export interface RunSummary {
  name: string;
  axes: Record<string, AxisValue>;
  state: RunState;
  reason?: string;
  log?: string;
  logTail?: string[];
  jobId?: string;
  /** Mean-over-classes metrics of a done run. */
  mean?: Record<string, number | null>;
  backend?: string;
  trainSeconds?: number;
}

/** `summary.json`. */
export interface GridSummary {
  grid: string;
  collectedAt: string;
  /** The axes that make a row (all but `seed`). */
  groupAxes: string[];
  metrics: MetricName[];
  groups: GroupSummary[];
  runs: RunSummary[];
  counts: Record<RunState, number>;
  notes: string[];
}

const STATES: RunState[] = ["done", "running", "pending", "failed", "missing", "stale"];

/**
 * Summarises the runs' states into groups over the seeds.
 *
 * @example
 * ```ts
 * import { summarizeGrid } from "./collect.ts";
 * import { expandGrid } from "./expand.ts";
 * const plan = expandGrid({ name: "g", axes: { strategy: ["joint"], seed: [0, 1] } });
 * const mean = (v: number) => ({ iAuroc: v, iAp: v, iF1Max: v, pAuroc: v, pAp: v, pF1Max: v, aupro: v, mAD: v });
 * const done = (name: string, v: number) => ({ name, state: "done" as const, result: { mean: mean(v) } as never });
 * const s = summarizeGrid(plan, [done("joint_seed0", 0.8), done("joint_seed1", 0.9)]);
 * if (Math.abs(s.groups[0].metrics.mAD.mean! - 0.85) > 1e-12) throw new Error("mean");
 * ```
 */
export function summarizeGrid(
  plan: GridPlan,
  statuses: readonly RunStatus[],
  notes: string[] = [],
): GridSummary {
  const groupAxes = plan.axes.filter((axis) => axis !== "seed");
  const statusOf = new Map(statuses.map((s) => [s.name, s]));
  const groups = new Map<string, GroupSummary>();
  const runs: RunSummary[] = [];
  for (const run of plan.runs) {
    const status = statusOf.get(run.name) ?? { name: run.name, state: "missing" as const };
    const axes = Object.fromEntries(groupAxes.map((axis) => [axis, run.axes[axis]]));
    const key = JSON.stringify(groupAxes.map((axis) => run.axes[axis]));
    const group = groups.get(key) ??
      { axes, runs: [], planned: 0, metrics: {} as Record<MetricName, MetricSummary> };
    groups.set(key, group);
    group.planned++;
    const summary: RunSummary = {
      name: run.name,
      axes: run.axes,
      state: status.state,
      ...(status.reason ? { reason: status.reason } : {}),
      ...(status.log ? { log: status.log } : {}),
      ...(status.logTail?.length ? { logTail: status.logTail } : {}),
      ...(status.jobId ? { jobId: status.jobId } : {}),
    };
    if (status.state === "done" && status.result) {
      group.runs.push(run.name);
      summary.mean = Object.fromEntries(
        METRIC_NAMES.map((m) => [m, finiteOrNull(status.result!.mean[m])]),
      );
      if (status.result.backend) summary.backend = status.result.backend.name;
      if (status.result.trainSeconds !== undefined) {
        summary.trainSeconds = status.result.trainSeconds;
      }
    }
    runs.push(summary);
  }
  for (const group of groups.values()) {
    for (const metric of METRIC_NAMES) {
      const values = group.runs
        .map((name) => runs.find((r) => r.name === name)!.mean![metric])
        .filter((v): v is number => v !== null);
      group.metrics[metric] = meanAndSd(values);
    }
  }
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<RunState, number>;
  for (const run of runs) counts[run.state]++;
  return {
    grid: plan.spec.name,
    collectedAt: new Date().toISOString(),
    groupAxes,
    metrics: [...METRIC_NAMES],
    groups: [...groups.values()],
    runs,
    counts,
    notes,
  };
}

function finiteOrNull(value: number | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Mean and sample sd (n - 1) of `values`. */
export function meanAndSd(values: readonly number[]): MetricSummary {
  if (values.length === 0) return { mean: null, sd: null, values: [] };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length < 2
    ? null
    : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, sd, values: [...values] };
}

function percent(value: number | null): string {
  return value === null ? "n/a" : (value * 100).toFixed(1);
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The summary as markdown: the table, then every run without results with its reason and log. */
export function summaryMarkdown(summary: GridSummary): string {
  const done = summary.counts.done;
  const others = STATES.filter((s) => s !== "done" && summary.counts[s] > 0)
    .map((s) => `${summary.counts[s]} ${s}`);
  const lines = [
    `# Grid ${summary.grid}`,
    "",
    `${done} of ${summary.runs.length} runs done${
      others.length ? ` (${others.join(", ")})` : ""
    }. ` +
    `Mean-over-classes metrics (%), mean ± sample sd over the runs in a row (seeds); ` +
    `n = runs done / planned. Collected ${summary.collectedAt}.`,
    "",
    `| ${
      [...summary.groupAxes, "n", ...summary.metrics.map((m) => METRIC_LABELS[m])].join(" | ")
    } |`,
    `|${[...summary.groupAxes, "n", ...summary.metrics].map(() => "---").join("|")}|`,
  ];
  for (const group of summary.groups) {
    const values = summary.metrics.map((m) => {
      const { mean, sd } = group.metrics[m];
      return mean === null
        ? "—"
        : sd === null
        ? percent(mean)
        : `${percent(mean)} ± ${percent(sd)}`;
    });
    lines.push(
      `| ${
        [
          ...summary.groupAxes.map((axis) => cell(String(group.axes[axis]))),
          `${group.runs.length}/${group.planned}`,
          ...values,
        ].join(" | ")
      } |`,
    );
  }
  const notDone = summary.runs.filter((run) => run.state !== "done");
  if (notDone.length) {
    lines.push("", "## Runs without results", "", "| run | state | reason |", "|---|---|---|");
    for (const run of notDone) {
      lines.push(`| ${run.name} | ${run.state} | ${cell(run.reason ?? "")} |`);
    }
    for (const run of notDone.filter((r) => r.logTail?.length)) {
      lines.push("", `### ${run.name} (${run.state})`, "", `Last lines of \`${run.log}\`:`, "");
      lines.push("```", ...run.logTail!, "```");
    }
  }
  if (summary.notes.length) lines.push("", ...summary.notes.map((note) => `Note: ${note}`));
  return lines.join("\n") + "\n";
}

/** Metrics in the plot. */
export const GRID_CHART_METRICS: readonly MetricName[] = ["iAuroc", "pAuroc", "mAD"];

/**
 * A Vega-Lite plot of the table: mean ± sd per row, one panel per metric (and per dataset when
 * the grid has a dataset axis).
 */
export function summaryChart(summary: GridSummary): VegaLiteSpec {
  const facetByDataset = summary.groupAxes.includes("dataset");
  const labelAxes = summary.groupAxes.filter((axis) => !(facetByDataset && axis === "dataset"));
  const values = summary.groups.flatMap((group) =>
    GRID_CHART_METRICS.flatMap((metric) => {
      const { mean, sd } = group.metrics[metric];
      if (mean === null) return [];
      const label = labelAxes.map((axis) => String(group.axes[axis])).join(" / ") || summary.grid;
      return [{
        run: label,
        dataset: facetByDataset ? String(group.axes.dataset) : summary.grid,
        metric: METRIC_LABELS[metric],
        mean: mean * 100,
        low: (mean - (sd ?? 0)) * 100,
        high: (mean + (sd ?? 0)) * 100,
        n: group.runs.length,
      }];
    })
  );
  const x = { field: "run", type: "nominal", title: null, sort: null } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `Grid ${summary.grid}: mean ± sd over seeds (%)`,
    data: { values },
    facet: {
      row: {
        field: "metric",
        type: "nominal",
        title: null,
        sort: GRID_CHART_METRICS.map((m) => METRIC_LABELS[m]),
      },
      column: { field: "dataset", type: "nominal", title: null },
    },
    spec: {
      width: Math.max(120, 36 * new Set(values.map((v) => v.run)).size),
      height: 110,
      layer: [
        {
          mark: { type: "rule" },
          encoding: {
            x,
            y: { field: "low", type: "quantitative", scale: { zero: false }, title: "%" },
            y2: { field: "high" },
          },
        },
        {
          mark: { type: "point", filled: true, size: 60 },
          encoding: {
            x,
            y: { field: "mean", type: "quantitative", scale: { zero: false }, title: "%" },
            color: { field: "run", type: "nominal", legend: null },
            tooltip: [
              { field: "run" },
              { field: "mean", format: ".1f" },
              { field: "n" },
            ],
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  } as VegaLiteSpec;
}

/** The files {@linkcode writeSummary} wrote. */
export interface SummaryFiles {
  markdown: string;
  json: string;
  /** The plot (PNG; its Vega-Lite spec and SVG beside it); absent when no run is done. */
  plot?: string;
}

/** Writes `summary.md`, `summary.json` and `plots/summary.{png,svg,vl.json}` (atomically). */
export async function writeSummary(plan: GridPlan, summary: GridSummary): Promise<SummaryFiles> {
  const base = gridLayout(plan).summary;
  const files: SummaryFiles = { markdown: `${base}.md`, json: `${base}.json` };
  await writeTextAtomic(files.markdown, summaryMarkdown(summary));
  await writeJsonAtomic(files.json, summary);
  if (summary.counts.done > 0) {
    const chart = await writeChart(
      summaryChart(summary),
      join(plan.resultsDir, "plots", "summary"),
    );
    files.plot = chart.png;
  }
  return files;
}
