/**
 * Alpha maps of the shapes anomalies are drawn with: irregular blobs with soft edges and
 * anti-aliased strokes along polylines.
 * @module
 */

import { clamp, createGrayCanvas, type GrayCanvas } from "./canvas.ts";
import { fbm } from "./noise.ts";

/** A point in normalised image coordinates ([0, 1) across the image). */
export type Point = readonly [number, number];

/** Parameters of an irregular blob. */
export interface BlobOptions {
  /** Centre, normalised coordinates. */
  centre: Point;
  /** Mean radius, normalised units. */
  radius: number;
  /** Relative variation of the radius around the outline (0 = circle). */
  irregularity: number;
  /** Width of the soft edge, in pixels. */
  softnessPx: number;
  /** Seed of the outline's noise. */
  seed: number;
}

/**
 * The alpha of an irregular blob on a `size`-square canvas: 1 inside, a soft ramp of
 * `softnessPx` pixels at the outline, 0 outside.
 *
 * @example
 * ```ts
 * import { blobAlpha } from "./shapes.ts";
 * const a = blobAlpha(64, { centre: [0.5, 0.5], radius: 0.1, irregularity: 0.3, softnessPx: 1, seed: 3 });
 * a.data[32 * 64 + 32]; // 1
 * ```
 */
export function blobAlpha(size: number, blob: BlobOptions): GrayCanvas {
  const out = createGrayCanvas(size, size);
  const reach = blob.radius * (1 + blob.irregularity * 1.3) + (blob.softnessPx + 1) / size;
  const [cx, cy] = blob.centre;
  const x0 = Math.max(0, Math.floor((cx - reach) * size));
  const x1 = Math.min(size - 1, Math.ceil((cx + reach) * size));
  const y0 = Math.max(0, Math.floor((cy - reach) * size));
  const y1 = Math.min(size - 1, Math.ceil((cy + reach) * size));
  for (let py = y0; py <= y1; py++) {
    const y = (py + 0.5) / size;
    for (let px = x0; px <= x1; px++) {
      const x = (px + 0.5) / size;
      const dx = x - cx;
      const dy = y - cy;
      const d = Math.hypot(dx, dy);
      const theta = Math.atan2(dy, dx);
      // Sampling noise on a circle keeps the outline closed (periodic in the angle).
      const lobes = fbm(Math.cos(theta) * 1.4 + 20, Math.sin(theta) * 1.4 + 20, blob.seed, 3);
      const ragged = fbm(dx / blob.radius * 2.5 + 7, dy / blob.radius * 2.5, blob.seed ^ 0x55, 2);
      const r = blob.radius *
        (1 + blob.irregularity * (2.2 * (lobes - 0.5) + 0.8 * (ragged - 0.5)));
      out.data[py * size + px] = clamp((r - d) * size / blob.softnessPx + 0.5, 0, 1);
    }
  }
  return out;
}

/**
 * Alpha of anti-aliased strokes along polylines on a `size`-square canvas; each polyline has
 * a half-width in pixels per point (interpolated along segments). Overlaps take the maximum.
 */
export function strokeAlpha(
  size: number,
  strokes: ReadonlyArray<{ points: readonly Point[]; halfWidthPx: readonly number[] }>,
): GrayCanvas {
  const out = createGrayCanvas(size, size);
  for (const { points, halfWidthPx } of strokes) {
    for (let i = 0; i + 1 < points.length; i++) {
      const ax = points[i][0] * size;
      const ay = points[i][1] * size;
      const bx = points[i + 1][0] * size;
      const by = points[i + 1][1] * size;
      const wa = halfWidthPx[i];
      const wb = halfWidthPx[i + 1];
      const reach = Math.max(wa, wb) + 1;
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
      const x1 = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + reach));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
      const y1 = Math.min(size - 1, Math.ceil(Math.max(ay, by) + reach));
      const vx = bx - ax;
      const vy = by - ay;
      const len2 = vx * vx + vy * vy || 1;
      for (let py = y0; py <= y1; py++) {
        for (let px = x0; px <= x1; px++) {
          const qx = px + 0.5 - ax;
          const qy = py + 0.5 - ay;
          const t = clamp((qx * vx + qy * vy) / len2, 0, 1);
          const d = Math.hypot(qx - t * vx, qy - t * vy);
          const w = wa + (wb - wa) * t;
          const a = clamp(w - d + 0.5, 0, 1);
          const p = py * size + px;
          if (a > out.data[p]) out.data[p] = a;
        }
      }
    }
  }
  return out;
}

/** `count + 1` points along the quadratic Bezier curve from `p0` via `p1` to `p2`. */
export function quadraticBezier(p0: Point, p1: Point, p2: Point, count: number): Point[] {
  const points: Point[] = [];
  for (let i = 0; i <= count; i++) {
    const t = i / count;
    const u = 1 - t;
    points.push([
      u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0],
      u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1],
    ]);
  }
  return points;
}
