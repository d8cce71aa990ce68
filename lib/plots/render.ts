/**
 * Headless rendering of Vega-Lite v5 charts: compile to Vega, render to SVG with Vega's
 * renderer-less view, rasterise the SVG to PNG with sharp. No browser, no canvas.
 * @module
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import sharp from "sharp";
import { writeFileAtomic, writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";

/**
 * Approximate advance width of `text` in DejaVu Sans (the font the PNGs are rasterised with), in
 * pixels. Vega without a canvas estimates 0.8 em per character, which makes every title and
 * label about a third too wide and leaves blank margins; these per-character classes follow
 * DejaVu Sans' advance widths closely enough for layout (bold about 13% wider).
 *
 * @example
 * ```ts
 * import { textWidth } from "./render.ts";
 * textWidth("mill", 10) < textWidth("MWMW", 10); // true
 * ```
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if ("iljI.,:;'|!".includes(ch)) em += 0.29;
    else if (" ()[]{}frt-/\\".includes(ch)) em += 0.36;
    else if ("mwMW%@".includes(ch)) em += 0.95;
    else if (ch >= "A" && ch <= "Z") em += 0.72;
    else if (ch >= "0" && ch <= "9") em += 0.64;
    else if (ch.charCodeAt(0) > 0x2000) em += 0.85;
    else em += 0.6;
  }
  // Measured against sharp's rendering: within 3% for regular text; a little generous so
  // that a long title is never clipped.
  return em * fontSize * (bold ? 1.16 : 1.03);
}

function fontIsBold(weight: unknown): boolean {
  return weight === "bold" || weight === "bolder" || Number(weight) >= 600;
}

// Vega measures text through this hook when it has no canvas (headless).
// (`textMetrics` is exported by vega but missing from its type declarations.)
(vega as unknown as {
  textMetrics: {
    width: (item: { fontSize?: number; fontWeight?: unknown }, text: unknown) => number;
  };
}).textMetrics.width = (item, text) => {
  const lines = Array.isArray(text) ? text.map(String) : [String(text ?? "")];
  const bold = fontIsBold(item.fontWeight);
  return Math.max(0, ...lines.map((line) => textWidth(line, item.fontSize ?? 11, bold)));
};

/** A Vega-Lite v5 specification (a plain JSON object). */
export type VegaLiteSpec = vegaLite.TopLevelSpec;

/** The `$schema` every spec this library makes carries. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Options of {@linkcode renderPng}. */
export interface PngOptions {
  /** Pixels per SVG unit (default 2, so labels stay sharp on GitHub). */
  scale?: number;
}

/**
 * Compiles a Vega-Lite v5 spec to a Vega spec; a spec Vega-Lite rejects is an error that says so.
 *
 * @example
 * ```ts
 * import { compileVegaLite } from "./render.ts";
 * const vg = compileVegaLite({
 *   data: { values: [{ a: "x", b: 1 }] },
 *   mark: "bar",
 *   encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
 * });
 * if (!Array.isArray(vg.marks)) throw new Error("no marks");
 * ```
 */
export function compileVegaLite(spec: VegaLiteSpec): vega.Spec {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError("a Vega-Lite spec must be a JSON object");
  }
  const schema = (spec as { $schema?: unknown }).$schema;
  if (typeof schema === "string" && !/vega-lite\/v5/.test(schema)) {
    throw new TypeError(`expected a Vega-Lite v5 spec, got $schema ${schema}`);
  }
  try {
    return vegaLite.compile(spec).spec;
  } catch (error) {
    throw new TypeError(`Vega-Lite cannot compile the spec: ${(error as Error).message}`);
  }
}

/** Renders a Vega-Lite spec to an SVG document (headless; fonts are resolved by the rasteriser). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compileVegaLite(spec)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document to PNG at `scale` pixels per SVG unit. */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new RangeError(`PNG scale must be in (0, 8], got ${scale}`);
  const buffer = await sharp(new TextEncoder().encode(svg), { density: 72 * scale })
    .flatten({ background: "#ffffff" })
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Renders a Vega-Lite spec to PNG bytes (white background).
 *
 * @example
 * ```ts
 * import { renderPng } from "./render.ts";
 * const png = await renderPng({
 *   width: 100,
 *   height: 50,
 *   data: { values: [{ a: "x", b: 1 }] },
 *   mark: "bar",
 *   encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
 * }, { scale: 1 });
 * if (png[1] !== 0x50) throw new Error("not a PNG");
 * ```
 */
export async function renderPng(spec: VegaLiteSpec, options: PngOptions = {}): Promise<Uint8Array> {
  return await svgToPng(await renderSvg(spec), options);
}

/** The files {@linkcode writeChart} wrote. */
export interface ChartFiles {
  json: string;
  svg: string;
  png: string;
}

/**
 * Writes `<base>.vl.json` (the spec), `<base>.svg` and `<base>.png`, each atomically.
 *
 * @example
 * ```ts ignore
 * const files = await writeChart(spec, "results/demo/plots/metrics");
 * console.log(files.png); // results/demo/plots/metrics.png
 * ```
 */
export async function writeChart(
  spec: VegaLiteSpec,
  base: string,
  options: PngOptions = {},
): Promise<ChartFiles> {
  const svg = await renderSvg(spec);
  const png = await svgToPng(svg, options);
  const files = { json: `${base}.vl.json`, svg: `${base}.svg`, png: `${base}.png` };
  await writeJsonAtomic(files.json, { $schema: VEGA_LITE_SCHEMA, ...spec });
  await writeTextAtomic(files.svg, svg);
  await writeFileAtomic(files.png, png);
  return files;
}
