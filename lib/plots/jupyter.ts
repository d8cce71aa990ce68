/**
 * Charts and images in the Deno Jupyter kernel. A {@linkcode Chart} carries the Vega-Lite v5
 * MIME bundle (rendered live by JupyterLab) and a PNG fallback (what GitHub and nbconvert show).
 * It implements `Deno.jupyter.$display` (`Symbol.for("Jupyter.display")`), so a chart as the last
 * expression of a cell, or passed to `Deno.jupyter.display`, shows itself.
 * @module
 */
import { renderPng, type VegaLiteSpec } from "./render.ts";

/** The MIME type of Vega-Lite v5 that Jupyter renders. */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** `Deno.jupyter.$display`, without requiring the Jupyter runtime to be loaded. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A Jupyter MIME bundle. */
export type MimeBundle = Record<string, unknown>;

/** Encodes bytes as base64 (what Jupyter expects for `image/png`). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** A PNG image that displays itself in Jupyter. */
export class PngImage {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    if (bytes.length < 8 || bytes[0] !== 0x89 || bytes[1] !== 0x50) {
      throw new TypeError("PngImage needs PNG bytes (the signature is missing)");
    }
    this.bytes = bytes;
  }
  /** The MIME bundle (`image/png`, base64). */
  bundle(): MimeBundle {
    return { "image/png": toBase64(this.bytes) };
  }
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle();
  }
}

/** A Vega-Lite chart with its rendered PNG; displays itself in Jupyter. */
export class Chart {
  readonly spec: VegaLiteSpec;
  readonly png: Uint8Array;
  constructor(spec: VegaLiteSpec, png: Uint8Array) {
    this.spec = spec;
    this.png = png;
  }
  /** Both MIME types: the live chart and its PNG fallback. */
  bundle(): MimeBundle {
    return {
      [VEGA_LITE_MIME]: this.spec,
      "image/png": toBase64(this.png),
      "text/plain": `Chart(${describe(this.spec)})`,
    };
  }
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.bundle();
  }
}

function describe(spec: VegaLiteSpec): string {
  const title = (spec as { title?: unknown }).title;
  if (typeof title === "string") return title;
  if (title && typeof title === "object" && "text" in title) return String(title.text);
  return "vega-lite";
}

/**
 * Renders the PNG fallback once and wraps the spec as a displayable {@linkcode Chart}.
 *
 * @example
 * ```ts
 * import { chart, VEGA_LITE_MIME } from "./jupyter.ts";
 * const c = await chart({
 *   data: { values: [{ a: "x", b: 1 }] },
 *   mark: "bar",
 *   encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
 * });
 * if (!(VEGA_LITE_MIME in c.bundle())) throw new Error("no vega-lite");
 * ```
 */
export async function chart(spec: VegaLiteSpec, options: { scale?: number } = {}): Promise<Chart> {
  return new Chart(spec, await renderPng(spec, { scale: options.scale ?? 1.5 }));
}

interface JupyterDisplay {
  display(value: unknown, options?: { raw?: boolean }): Promise<void>;
}

function jupyter(): JupyterDisplay | undefined {
  try {
    // Outside `deno jupyter` the getter throws rather than returning undefined.
    return (Deno as unknown as { jupyter?: JupyterDisplay }).jupyter;
  } catch {
    return undefined;
  }
}

/**
 * Shows a chart in the running Jupyter kernel (live Vega-Lite + PNG) and returns it; outside
 * Jupyter it only returns the chart, so the same code runs in scripts and tests.
 */
export async function displayChart(spec: VegaLiteSpec): Promise<Chart> {
  const c = await chart(spec);
  await jupyter()?.display(c.bundle(), { raw: true });
  return c;
}

/** Shows PNG bytes in the running Jupyter kernel (no-op outside it) and returns the image. */
export async function displayPng(bytes: Uint8Array): Promise<PngImage> {
  const image = new PngImage(bytes);
  await jupyter()?.display(image.bundle(), { raw: true });
  return image;
}
