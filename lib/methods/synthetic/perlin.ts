/**
 * Seeded 2-D Perlin (gradient) noise, as DRAEM's `rand_perlin_2d`: random unit gradients on a
 * `resX` x `resY` lattice, the quintic fade 6t⁵ - 15t⁴ + 10t³, values in about [-0.7, 0.7].
 * The lattice is sampled at continuous coordinates, so the image size need not be a multiple
 * of the resolution; an optional rotation turns the pattern (DRAEM rotates the noise by up
 * to ±90°).
 * @module
 */

const fade = (t: number) => t * t * t * (t * (t * 6 - 15) + 10);

/** Options of {@linkcode perlinNoise}. */
export interface PerlinOptions {
  /** Lattice cells across the width and the height (>= 1). */
  resX: number;
  resY: number;
  /** Rotation of the pattern about the centre, degrees (default 0). */
  rotation?: number;
}

/**
 * `height * width` Perlin noise values, row-major, drawn from `rng`.
 *
 * @example
 * ```ts
 * import { perlinNoise } from "./perlin.ts";
 * import { mulberry32 } from "../../util/random.ts";
 * const noise = perlinNoise(16, 16, { resX: 2, resY: 4 }, mulberry32(1));
 * if (noise.length !== 256 || noise[0] !== 0) throw new Error("zero on lattice points");
 * ```
 */
export function perlinNoise(
  height: number,
  width: number,
  options: PerlinOptions,
  rng: () => number,
): Float32Array {
  const { resX, resY } = options;
  if (!(Number.isInteger(resX) && resX >= 1 && Number.isInteger(resY) && resY >= 1)) {
    throw new Error(
      `lib/methods/synthetic/perlin.ts: resolutions must be positive integers, got ${resX}, ${resY}`,
    );
  }
  // One more lattice column and row than cells, and a margin for rotated coordinates.
  const margin = options.rotation ? Math.ceil(Math.max(resX, resY) * 0.5) + 1 : 0;
  const gx = resX + 1 + 2 * margin, gy = resY + 1 + 2 * margin;
  const angles = new Float32Array(gx * gy);
  for (let i = 0; i < angles.length; i++) angles[i] = 2 * Math.PI * rng();
  const theta = ((options.rotation ?? 0) * Math.PI) / 180;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const out = new Float32Array(height * width);
  const dot = (ix: number, iy: number, dx: number, dy: number) => {
    const a = angles[(iy + margin) * gx + ix + margin];
    return Math.cos(a) * dx + Math.sin(a) * dy;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Lattice coordinates of the pixel, rotated about the image centre.
      const u = x / width - 0.5, v = y / height - 0.5;
      const px = (cos * u - sin * v + 0.5) * resX;
      const py = (sin * u + cos * v + 0.5) * resY;
      const ix = Math.floor(px), iy = Math.floor(py);
      const fx = px - ix, fy = py - iy;
      const n00 = dot(ix, iy, fx, fy);
      const n10 = dot(ix + 1, iy, fx - 1, fy);
      const n01 = dot(ix, iy + 1, fx, fy - 1);
      const n11 = dot(ix + 1, iy + 1, fx - 1, fy - 1);
      const tx = fade(fx), ty = fade(fy);
      const top = n00 + tx * (n10 - n00);
      const bottom = n01 + tx * (n11 - n01);
      out[y * width + x] = Math.SQRT2 * (top + ty * (bottom - top));
    }
  }
  return out;
}
