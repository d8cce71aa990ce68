/**
 * Plots: Vega-Lite v5 chart specs, headless SVG/PNG rendering, Jupyter display and anomaly
 * overlays.
 * @module
 */
export * from "./render.ts";
export * from "./jupyter.ts";
export * from "./palette.ts";
export * from "./charts.ts";
export * from "./curves.ts";
export * from "./overlay.ts";
