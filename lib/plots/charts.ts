/**
 * Vega-Lite v5 specs for the analysis and the demo: embedding scatter, confusion heatmaps,
 * per-class metric bars, V-measure per strategy. Every function takes plain data and returns a
 * spec; render it with `renderPng` / `writeChart`, or show it with `displayChart`.
 * @module
 */
import { categoricalScheme, type ChartTitle, finishSpec } from "./palette.ts";
import type { VegaLiteSpec } from "./render.ts";

/** One point of a 2-D embedding. */
export interface EmbeddingPoint {
  x: number;
  y: number;
  className: string;
  /** `good` for normal images, else the defect type. */
  defect: string;
}

/**
 * A scatter plot of a 2-D embedding: colour = class, filled circles = normal images,
 * crosses = anomalies.
 *
 * @example
 * ```ts
 * import { embeddingChart } from "./charts.ts";
 * import { renderPng } from "./render.ts";
 * const spec = embeddingChart([
 *   { x: 0, y: 1, className: "a", defect: "good" },
 *   { x: 1, y: 0, className: "b", defect: "hole" },
 * ], { title: "PCA" });
 * await renderPng(spec, { scale: 1 });
 * ```
 */
export function embeddingChart(
  points: readonly EmbeddingPoint[],
  options: { title: ChartTitle; xTitle?: string; yTitle?: string; size?: number } = { title: "" },
): VegaLiteSpec {
  const classes = new Set(points.map((p) => p.className)).size;
  const side = options.size ?? 360;
  return finishSpec({
    title: options.title,
    width: side,
    height: side,
    data: {
      values: points.map((p) => ({
        ...p,
        status: p.defect === "good" ? "normal" : "anomaly",
      })),
    },
    mark: { type: "point", filled: true, size: 40 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: options.xTitle ?? "dim 1",
        scale: { zero: false },
      },
      y: {
        field: "y",
        type: "quantitative",
        title: options.yTitle ?? "dim 2",
        scale: { zero: false },
      },
      color: {
        field: "className",
        type: "nominal",
        title: "class",
        scale: { scheme: categoricalScheme(classes) },
      },
      shape: {
        field: "status",
        type: "nominal",
        title: "image",
        scale: { domain: ["normal", "anomaly"], range: ["circle", "cross"] },
      },
      opacity: { condition: { test: "datum.status === 'normal'", value: 0.85 }, value: 0.6 },
      tooltip: [
        { field: "className", title: "class" },
        { field: "defect", title: "defect" },
      ],
    },
  });
}

/** Options of {@linkcode heatmapChart}. */
export interface HeatmapOptions {
  title: ChartTitle;
  rowTitle: string;
  columnTitle: string;
  /** Colour by the share of each row (default) or the raw count. */
  normalize?: "row" | "none";
}

/**
 * A confusion heatmap with the count written in each cell; colour = share of the row
 * (viridis), so small classes read the same as large ones.
 *
 * @example
 * ```ts
 * import { heatmapChart } from "./charts.ts";
 * const spec = heatmapChart(["a", "b"], ["k0", "k1"], [[3, 1], [0, 4]], {
 *   title: "classes x clusters", rowTitle: "class", columnTitle: "cluster",
 * });
 * ```
 */
export function heatmapChart(
  rows: readonly string[],
  columns: readonly string[],
  counts: readonly (readonly number[])[],
  options: HeatmapOptions,
): VegaLiteSpec {
  if (counts.length !== rows.length || counts.some((r) => r.length !== columns.length)) {
    throw new RangeError(
      `heatmapChart: counts must be ${rows.length} x ${columns.length} (rows x columns)`,
    );
  }
  const byRow = options.normalize !== "none";
  const values = rows.flatMap((row, r) => {
    const total = counts[r].reduce((a, b) => a + b, 0);
    return columns.map((column, c) => ({
      row,
      column,
      count: counts[r][c],
      share: byRow ? (total > 0 ? counts[r][c] / total : 0) : counts[r][c],
    }));
  });
  const cell = Math.max(22, Math.min(40, Math.floor(420 / Math.max(rows.length, columns.length))));
  const encoding = {
    x: {
      field: "column",
      type: "ordinal",
      sort: [...columns],
      title: options.columnTitle,
      axis: { labelAngle: -40 },
    },
    y: { field: "row", type: "ordinal", sort: [...rows], title: options.rowTitle },
  };
  return finishSpec({
    title: options.title,
    width: cell * columns.length,
    height: cell * rows.length,
    data: { values },
    encoding,
    layer: [
      {
        mark: "rect",
        encoding: {
          color: {
            field: "share",
            type: "quantitative",
            title: byRow ? "share of row" : "count",
            scale: byRow ? { scheme: "viridis", domain: [0, 1] } : { scheme: "viridis" },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "count", type: "quantitative" },
          color: {
            condition: { test: byRow ? "datum.share > 0.55" : "false", value: "black" },
            value: "white",
          },
        },
        transform: [{ filter: "datum.count > 0" }],
      },
    ],
  });
}

/** One bar of a per-class metric chart: mean (and spread over seeds) of one strategy. */
export interface MetricBar {
  className: string;
  strategy: string;
  metric: string;
  mean: number;
  /** Standard deviation over seeds (0 or absent with one seed). */
  sd?: number;
  /** Number of seeds behind `mean`. */
  seeds?: number;
}

/**
 * Grouped bars per class (strategies side by side), one panel per metric, error bars for the
 * spread over seeds.
 *
 * @example
 * ```ts
 * import { metricBarsChart } from "./charts.ts";
 * const spec = metricBarsChart([
 *   { className: "a", strategy: "joint", metric: "I-AUROC", mean: 0.9, sd: 0.02 },
 *   { className: "a", strategy: "joint+CCL", metric: "I-AUROC", mean: 0.93, sd: 0.01 },
 * ], { title: "per class" });
 * ```
 */
export function metricBarsChart(
  bars: readonly MetricBar[],
  options: { title: ChartTitle; strategies?: readonly string[]; classes?: readonly string[] },
): VegaLiteSpec {
  const strategies = options.strategies ?? [...new Set(bars.map((b) => b.strategy))];
  const classes = options.classes ?? [...new Set(bars.map((b) => b.className))];
  const values = bars.map((b) => ({
    ...b,
    low: Math.max(0, b.mean - (b.sd ?? 0)),
    high: Math.min(1, b.mean + (b.sd ?? 0)),
  }));
  const x = {
    field: "className",
    type: "nominal",
    sort: classes,
    title: null,
    axis: { labelAngle: -40 },
  };
  const xOffset = { field: "strategy", type: "nominal", sort: strategies };
  const color = {
    field: "strategy",
    type: "nominal",
    sort: strategies,
    title: "strategy",
    scale: { scheme: "tableau10" },
  };
  return finishSpec({
    title: options.title,
    data: { values },
    facet: { row: { field: "metric", type: "nominal", title: null } },
    spec: {
      width: Math.max(300, classes.length * strategies.length * 12),
      height: 150,
      layer: [
        {
          mark: "bar",
          encoding: {
            x,
            xOffset,
            color,
            y: { field: "mean", type: "quantitative", title: "score", scale: { domain: [0, 1] } },
            tooltip: [
              { field: "className" },
              { field: "strategy" },
              { field: "mean", format: ".3f" },
              { field: "sd", format: ".3f" },
            ],
          },
        },
        {
          mark: { type: "rule", color: "black", strokeWidth: 1 },
          encoding: {
            x,
            xOffset,
            y: { field: "low", type: "quantitative" },
            y2: { field: "high" },
          },
        },
      ],
    },
    resolve: { scale: { y: "shared" } },
  });
}

/** One V-measure value: a strategy (or the backbone) at one seed. */
export interface VMeasurePoint {
  strategy: string;
  seed: number;
  vMeasure: number;
}

/**
 * V-measure of k-means on each strategy's compact features: a bar for the mean over seeds and a
 * dot per seed (1 = classes perfectly separated; lower = more inter-class confusion).
 *
 * @example
 * ```ts
 * import { vMeasureChart } from "./charts.ts";
 * const spec = vMeasureChart([
 *   { strategy: "joint", seed: 0, vMeasure: 0.7 },
 *   { strategy: "joint+CCL", seed: 0, vMeasure: 0.9 },
 * ]);
 * ```
 */
export function vMeasureChart(
  points: readonly VMeasurePoint[],
  options: {
    title?: ChartTitle;
    strategies?: readonly string[];
    /** Every strategy of the comparison, so colours match the other charts. */
    colorDomain?: readonly string[];
  } = {},
): VegaLiteSpec {
  const strategies = options.strategies ?? [...new Set(points.map((p) => p.strategy))];
  const domain = options.colorDomain ?? strategies;
  const x = {
    field: "strategy",
    type: "nominal",
    sort: strategies,
    title: null,
    axis: { labelAngle: 0 },
  };
  return finishSpec({
    title: options.title ?? "V-measure of k-means on compact features (k = classes)",
    width: Math.max(200, 90 * strategies.length),
    height: 220,
    data: { values: [...points] },
    layer: [
      {
        mark: { type: "bar", opacity: 0.75 },
        encoding: {
          x,
          y: {
            aggregate: "mean",
            field: "vMeasure",
            type: "quantitative",
            title: "V-measure (mean over seeds)",
            scale: { domain: [0, 1] },
          },
          color: {
            field: "strategy",
            type: "nominal",
            sort: strategies,
            legend: null,
            scale: { scheme: "tableau10", domain: [...domain] },
          },
        },
      },
      {
        mark: { type: "point", filled: true, color: "black", size: 50 },
        encoding: {
          x,
          y: { field: "vMeasure", type: "quantitative" },
          tooltip: [{ field: "seed" }],
        },
      },
      {
        mark: { type: "text", dy: -8, fontSize: 11 },
        encoding: {
          x,
          y: { aggregate: "max", field: "vMeasure", type: "quantitative" },
          text: { aggregate: "mean", field: "vMeasure", type: "quantitative", format: ".2f" },
        },
      },
    ],
  });
}

/** What {@linkcode metricDeltaChart} shows: `other - base` per class and metric. */
export interface DeltaInput {
  base: string;
  other: string;
  classes: string[];
  perClass: Record<string, Record<string, number>>;
  mean: Record<string, number>;
}

/**
 * Per-class metric deltas between two runs (percentage points), one panel per metric; green
 * bars: the second run is better.
 *
 * @example
 * ```ts
 * import { metricDeltaChart } from "./charts.ts";
 * const spec = metricDeltaChart({
 *   base: "joint", other: "joint+CCL", classes: ["a"],
 *   perClass: { a: { iAuroc: 0.02 } }, mean: { iAuroc: 0.02 },
 * }, ["iAuroc"]);
 * ```
 */
export function metricDeltaChart(
  deltas: DeltaInput,
  metrics: readonly string[] = ["iAuroc", "pAuroc", "aupro"],
): VegaLiteSpec {
  const labels: Record<string, string> = {
    iAuroc: "I-AUROC",
    iAp: "I-AP",
    iF1Max: "I-F1max",
    pAuroc: "P-AUROC",
    pAp: "P-AP",
    pF1Max: "P-F1max",
    aupro: "AUPRO",
    mAD: "mAD",
  };
  const classes = [...deltas.classes, "mean"];
  const values = classes.flatMap((className) =>
    metrics.map((metric) => {
      const source = className === "mean" ? deltas.mean : deltas.perClass[className];
      const delta = 100 * (source?.[metric] ?? NaN);
      return { className, metric: labels[metric] ?? metric, delta, better: delta >= 0 };
    })
  ).filter((v) => Number.isFinite(v.delta));
  return finishSpec({
    title: {
      text: "Per-class change (percentage points)",
      subtitle: `${deltas.other} minus ${deltas.base}`,
    },
    data: { values },
    facet: { row: { field: "metric", type: "nominal", title: null } },
    spec: {
      width: Math.max(300, classes.length * 26),
      height: 120,
      mark: "bar",
      encoding: {
        x: {
          field: "className",
          type: "nominal",
          sort: classes,
          title: null,
          axis: { labelAngle: -40 },
        },
        y: { field: "delta", type: "quantitative", title: "Δ (points)" },
        color: {
          field: "better",
          type: "nominal",
          scale: { domain: [true, false], range: ["#2a9d58", "#c0392b"] },
          legend: null,
        },
        tooltip: [{ field: "className" }, { field: "delta", format: ".1f" }],
      },
    },
    resolve: { scale: { y: "independent" } },
  });
}
