/**
 * Drawing the random parameters of a rendered image from a seeded generator.
 * @module
 */

/** A seeded generator of floats in [0, 1) (see `mulberry32` in lib/util/random.ts). */
export type Rng = () => number;

/** A float drawn uniformly from [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** An integer drawn uniformly from [lo, hi] (both ends included). */
export function integer(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** One element of `items`, chosen uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick: cannot choose from an empty list");
  return items[Math.floor(rng() * items.length)];
}

/** A 32-bit integer seed for a noise field. */
export function noiseSeed(rng: Rng): number {
  return Math.floor(rng() * 4294967296) | 0;
}

/** -1 or +1 with equal probability. */
export function sign(rng: Rng): number {
  return rng() < 0.5 ? -1 : 1;
}
