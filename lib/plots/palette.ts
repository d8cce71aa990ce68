/**
 * Shared chart styling: a colour scheme that fits the number of categories, fonts and sizes that
 * stay legible in a PNG at scale 2.
 * @module
 */
import type { VegaLiteSpec } from "./render.ts";

/** A chart title: one line, or a line and a smaller subtitle (a string or several lines). */
export type ChartTitle = string | { text: string; subtitle?: string | string[] };

/** A categorical scheme with enough distinct colours for `count` categories. */
export function categoricalScheme(count: number): string {
  return count <= 10 ? "tableau10" : "tableau20";
}

/** Fonts and label sizes every chart uses (merged into `config`). */
export const CHART_CONFIG = {
  font: "DejaVu Sans, sans-serif",
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 160 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 200 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: {
    fontSize: 14,
    subtitleFontSize: 12,
    subtitleColor: "#333333",
    anchor: "start" as const,
    offset: 8,
  },
  view: { stroke: "#dddddd" },
} as const;

/** Adds the `$schema`, a white background and the shared config to a spec. */
export function finishSpec(spec: Record<string, unknown>): VegaLiteSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    background: "white",
    padding: 8,
    config: CHART_CONFIG,
    ...spec,
  } as VegaLiteSpec;
}
