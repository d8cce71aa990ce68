/**
 * Seeded choice of partner images inside a batch: a different-class image (the local loss's
 * negative) and another same-class image (its optional extra positive).
 * @module
 */

/** Marks an image that has no partner of the requested kind in the batch. */
export const NO_PARTNER = -1;

function pickPartners(
  classIds: Int32Array,
  rng: () => number,
  accepts: (self: number, other: number) => boolean,
): Int32Array {
  const partners = new Int32Array(classIds.length);
  for (let self = 0; self < classIds.length; self++) {
    const candidates: number[] = [];
    for (let other = 0; other < classIds.length; other++) {
      if (accepts(self, other)) candidates.push(other);
    }
    partners[self] = candidates.length === 0
      ? NO_PARTNER
      : candidates[Math.floor(rng() * candidates.length)];
  }
  return partners;
}

/**
 * For each image, one image of a different class chosen uniformly by `rng`, or
 * {@linkcode NO_PARTNER} when every image in the batch has its class.
 *
 * @example
 * ```ts
 * import { pickDifferentClass } from "./pairing.ts";
 * import { mulberry32 } from "../util/random.ts";
 * const partners = pickDifferentClass(Int32Array.from([0, 0, 1]), mulberry32(1));
 * // partners[0] === 2, partners[1] === 2, partners[2] is 0 or 1
 * ```
 */
export function pickDifferentClass(classIds: Int32Array, rng: () => number): Int32Array {
  return pickPartners(classIds, rng, (self, other) => classIds[other] !== classIds[self]);
}

/**
 * For each image, another image (not itself) of the same class chosen uniformly by `rng`, or
 * {@linkcode NO_PARTNER} when it is the only image of its class in the batch.
 */
export function pickSameClass(classIds: Int32Array, rng: () => number): Int32Array {
  return pickPartners(
    classIds,
    rng,
    (self, other) => other !== self && classIds[other] === classIds[self],
  );
}
