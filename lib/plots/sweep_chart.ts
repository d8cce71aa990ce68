/**
 * The confusability sweep chart: x is how separable the data's classes are to the frozen
 * backbone before training (V-measure); three panels show mean I-AUROC, mean P-AUROC and the
 * jointly trained models' V-measure, one line per strategy, with mean ± sd over seeds.
 * @module
 */
import { categoricalScheme, finishSpec } from "./palette.ts";
import type { VegaLiteSpec } from "./render.ts";

/** Mean and standard deviation over seeds (as the sweep reports them). */
export interface SweepChartSpread {
  mean: number;
  sd: number;
}

/** One strategy at one confusability level (the fields of a sweep row the chart reads). */
export interface SweepChartRow {
  level: number;
  backboneVMeasure: number;
  strategy: string;
  iAuroc: SweepChartSpread;
  pAuroc: SweepChartSpread;
  modelVMeasure?: SweepChartSpread;
}

/** The panels, in order, with the factor that puts their values in display units. */
const PANELS = [
  { key: "iAuroc", title: "mean I-AUROC (%)", factor: 100 },
  { key: "pAuroc", title: "mean P-AUROC (%)", factor: 100 },
  { key: "modelVMeasure", title: "model V-measure (joint runs)", factor: 1 },
] as const;

/** Multiples of 0.1 spanning `values` (at least one). */
function tenthTicks(values: readonly number[]): number[] {
  const lo = Math.floor(Math.min(...values, 1) * 10);
  const hi = Math.ceil(Math.max(...values, 0) * 10);
  return Array.from({ length: Math.max(1, hi - lo + 1) }, (_, i) => (lo + i) / 10);
}

/**
 * A Vega-Lite v5 spec of the sweep.
 *
 * @example
 * ```ts
 * import { sweepChartSpec } from "./sweep_chart.ts";
 * const spread = { mean: 0.9, sd: 0.01 };
 * const spec = sweepChartSpec([
 *   { level: 0, backboneVMeasure: 0.97, strategy: "joint", iAuroc: spread, pAuroc: spread },
 * ]);
 * if (!("facet" in spec)) throw new Error("expected a faceted chart");
 * ```
 */
export function sweepChartSpec(rows: readonly SweepChartRow[]): VegaLiteSpec {
  const values = rows.flatMap((row) =>
    PANELS.flatMap((panel) => {
      const s = row[panel.key];
      if (!s) return [];
      return [{
        level: row.level,
        backboneVMeasure: row.backboneVMeasure,
        strategy: row.strategy,
        panel: panel.title,
        mean: s.mean * panel.factor,
        lo: (s.mean - s.sd) * panel.factor,
        hi: (s.mean + s.sd) * panel.factor,
        sd: s.sd * panel.factor,
      }];
    })
  );
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const x = {
    field: "backboneVMeasure",
    type: "quantitative",
    title: "backbone V-measure",
    scale: { zero: false, padding: 10 },
    // Ticks every 0.1: a denser axis crowds its labels in a 230-pixel panel.
    axis: { values: tenthTicks(rows.map((r) => r.backboneVMeasure)), format: ".1f" },
  };
  const color = {
    field: "strategy",
    type: "nominal",
    title: "strategy",
    sort: strategies,
    // Three well-separated hues for the usual three strategies, a scheme beyond that.
    scale: strategies.length <= 3
      ? { range: ["#4c78a8", "#f58518", "#54a24b"] }
      : { scheme: categoricalScheme(strategies.length) },
  };
  return finishSpec({
    title: {
      text: "Confusable synthetic data: accuracy against inter-class separability",
      subtitle: [
        "x: V-measure of k-means on the frozen backbone's pooled features of the training " +
        "normals, before training (left: more confusable)",
        "mean ± sd over seeds",
      ],
    },
    data: { values },
    facet: {
      column: {
        field: "panel",
        type: "nominal",
        title: null,
        sort: PANELS.map((p) => p.title),
      },
    },
    spec: {
      width: 230,
      height: 200,
      layer: [
        {
          mark: { type: "rule", strokeWidth: 1.5 },
          encoding: {
            x,
            y: { field: "lo", type: "quantitative", scale: { zero: false }, title: null },
            y2: { field: "hi" },
            color,
          },
        },
        {
          mark: { type: "line", point: { size: 50, filled: true } },
          encoding: {
            x,
            y: { field: "mean", type: "quantitative", scale: { zero: false }, title: null },
            color,
            tooltip: [
              { field: "strategy", type: "nominal" },
              { field: "level", type: "quantitative", title: "confusability" },
              { field: "backboneVMeasure", type: "quantitative", format: ".3f" },
              { field: "mean", type: "quantitative", format: ".3f" },
              { field: "sd", type: "quantitative", format: ".3f" },
            ],
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  });
}
