/**
 * Seeded procedural noise for the synthetic dataset: lattice hashing, value noise, fractal
 * Brownian motion and cellular (Worley) noise. Everything is a pure function of its inputs and
 * an integer seed, so a rendered image depends only on the parameters drawn for it.
 * @module
 */

/**
 * A hash of an integer lattice point and a seed, as a float in [0, 1).
 *
 * @example
 * ```ts
 * import { hash2 } from "./noise.ts";
 * hash2(3, 4, 7) === hash2(3, 4, 7); // true
 * ```
 */
export function hash2(ix: number, iy: number, seed: number): number {
  let h = (seed ^ Math.imul(ix | 0, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= Math.imul(iy | 0, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x165667b1);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * Smoothly interpolated value noise in [0, 1] with one random value per integer lattice point.
 *
 * @example
 * ```ts
 * import { valueNoise } from "./noise.ts";
 * const n = valueNoise(1.25, 3.5, 42); // 0 <= n <= 1
 * ```
 */
export function valueNoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hash2(ix, iy, seed);
  const b = hash2(ix + 1, iy, seed);
  const c = hash2(ix, iy + 1, seed);
  const d = hash2(ix + 1, iy + 1, seed);
  return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
}

/**
 * Fractal Brownian motion: `octaves` layers of value noise, each twice the frequency and half
 * the amplitude of the last, normalised back to [0, 1].
 *
 * @example
 * ```ts
 * import { fbm } from "./noise.ts";
 * const cloudy = fbm(0.3 * 8, 0.7 * 8, 1, 4);
 * ```
 */
export function fbm(x: number, y: number, seed: number, octaves = 4): number {
  let sum = 0;
  let amplitude = 1;
  let total = 0;
  let fx = x;
  let fy = y;
  for (let o = 0; o < octaves; o++) {
    sum += amplitude * valueNoise(fx, fy, (seed + Math.imul(o, 0x632be5ab)) | 0);
    total += amplitude;
    amplitude *= 0.5;
    // The offset keeps octaves from sharing lattice points at the origin.
    fx = fx * 2 + 17.31;
    fy = fy * 2 + 5.97;
  }
  return sum / total;
}

/** Nearest and second-nearest feature distances of cellular noise, plus the nearest cell id. */
export interface WorleySample {
  /** Distance to the nearest feature point, in lattice units. */
  f1: number;
  /** Distance to the second-nearest feature point, in lattice units. */
  f2: number;
  /** A hash in [0, 1) identifying the nearest cell. */
  cell: number;
}

/**
 * Cellular (Worley) noise: one jittered feature point per lattice cell. Writes into `out`
 * (reused across pixels to avoid allocating) and returns it.
 *
 * @example
 * ```ts
 * import { worley } from "./noise.ts";
 * const s = worley(2.5, 1.5, 9, { f1: 0, f2: 0, cell: 0 });
 * s.f2 >= s.f1; // true
 * ```
 */
export function worley(x: number, y: number, seed: number, out: WorleySample): WorleySample {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  let f1 = Infinity;
  let f2 = Infinity;
  let cell = 0;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const cx = ix + dx;
      const cy = iy + dy;
      const px = cx + 0.1 + 0.8 * hash2(cx, cy, seed);
      const py = cy + 0.1 + 0.8 * hash2(cx, cy, seed ^ 0x5bd1e995);
      const d = Math.hypot(x - px, y - py);
      if (d < f1) {
        f2 = f1;
        f1 = d;
        cell = hash2(cx, cy, seed ^ 0x68e31da4);
      } else if (d < f2) {
        f2 = d;
      }
    }
  }
  out.f1 = f1;
  out.f2 = f2;
  out.cell = cell;
  return out;
}
