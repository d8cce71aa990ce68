/**
 * Float canvases the synthetic dataset renders into, and the small maths shared by every
 * renderer (clamping, blending, anti-aliased coverage, conversion to bytes).
 * @module
 */

/** An RGB image, channels interleaved, values nominally in [0, 1]. */
export interface RgbCanvas {
  readonly width: number;
  readonly height: number;
  /** `width * height * 3` floats, row-major, RGB interleaved. */
  readonly data: Float32Array;
}

/** A single-channel image (coverage, alpha or mask), values in [0, 1]. */
export interface GrayCanvas {
  readonly width: number;
  readonly height: number;
  /** `width * height` floats, row-major. */
  readonly data: Float32Array;
}

/** An RGB colour with components in [0, 1]. */
export type Rgb = readonly [number, number, number];

/**
 * A black RGB canvas.
 *
 * @example
 * ```ts
 * import { createRgbCanvas } from "./canvas.ts";
 * const c = createRgbCanvas(64, 64);
 * c.data.length; // 12288
 * ```
 */
export function createRgbCanvas(width: number, height: number): RgbCanvas {
  return { width, height, data: new Float32Array(width * height * 3) };
}

/** A single-channel canvas filled with `fill`. */
export function createGrayCanvas(width: number, height: number, fill = 0): GrayCanvas {
  const data = new Float32Array(width * height);
  if (fill !== 0) data.fill(fill);
  return { width, height, data };
}

/** A deep copy of an RGB canvas. */
export function cloneRgbCanvas(canvas: RgbCanvas): RgbCanvas {
  return { width: canvas.width, height: canvas.height, data: canvas.data.slice() };
}

/** `x` limited to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Hermite step from 0 at `edge0` to 1 at `edge1`. */
export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = clamp((x - edge0) / (edge1 - edge0), 0, 1);
  return t * t * (3 - 2 * t);
}

/**
 * Anti-aliased coverage of a pixel by a shape, from the signed distance (in pixels) of the
 * pixel centre to the shape's boundary (negative inside).
 */
export function coverageFromDistance(distancePx: number): number {
  return clamp(0.5 - distancePx, 0, 1);
}

/** Writes colour `c` blended over pixel `pixel` (index, not byte offset) with weight `alpha`. */
export function blendPixel(canvas: RgbCanvas, pixel: number, c: Rgb, alpha: number): void {
  if (alpha <= 0) return;
  const d = canvas.data;
  const o = pixel * 3;
  d[o] += (c[0] - d[o]) * alpha;
  d[o + 1] += (c[1] - d[o + 1]) * alpha;
  d[o + 2] += (c[2] - d[o + 2]) * alpha;
}

/** Rec. 601 luma of pixel `pixel` of an RGB canvas. */
export function lumaAt(canvas: RgbCanvas, pixel: number): number {
  const d = canvas.data;
  const o = pixel * 3;
  return 0.299 * d[o] + 0.587 * d[o + 1] + 0.114 * d[o + 2];
}

/**
 * Per-pixel largest channel difference between two canvases of the same size, after clipping
 * both to [0, 1].
 *
 * @example
 * ```ts
 * import { channelChange, createRgbCanvas } from "./canvas.ts";
 * const a = createRgbCanvas(2, 2), b = createRgbCanvas(2, 2);
 * b.data[0] = 0.5;
 * channelChange(a, b).data[0]; // 0.5
 * ```
 */
export function channelChange(before: RgbCanvas, after: RgbCanvas): GrayCanvas {
  if (before.width !== after.width || before.height !== after.height) {
    throw new Error(
      `channelChange: canvases differ in size (${before.width}x${before.height} vs ` +
        `${after.width}x${after.height})`,
    );
  }
  const out = createGrayCanvas(before.width, before.height);
  const a = before.data;
  const b = after.data;
  // Compared as displayed: values beyond [0, 1] are clipped when written out.
  const diff = (i: number) => Math.abs(clamp(a[i], 0, 1) - clamp(b[i], 0, 1));
  for (let p = 0, o = 0; p < out.data.length; p++, o += 3) {
    out.data[p] = Math.max(diff(o), diff(o + 1), diff(o + 2));
  }
  return out;
}

/** The canvas as 8-bit RGB bytes (clamped and rounded). */
export function rgbToBytes(canvas: RgbCanvas): Uint8Array {
  const out = new Uint8Array(canvas.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = canvas.data[i];
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}

/** A binary mask as 8-bit grayscale bytes: 255 where `mask > threshold`, else 0. */
export function maskToBytes(mask: GrayCanvas, threshold = 0.5): Uint8Array {
  const out = new Uint8Array(mask.data.length);
  for (let i = 0; i < out.length; i++) out[i] = mask.data[i] > threshold ? 255 : 0;
  return out;
}
