/**
 * Pools the pixels of many anomaly maps into sorted score lists for the pixel-level metrics:
 * anomalous pixels (mask 1), each with the weight of its anomaly region, and normal pixels
 * (mask 0). One sort serves P-AUROC, P-AP, P-F1max and AUPRO.
 * @module
 */

import { connectedComponents } from "./connected_components.ts";
import { float32Bits, float32BitsToKey, isNaNBits, radixSortKeys } from "./sort.ts";
import { checkShape, pixelPosition } from "./validate.ts";

/** All pixels of a set of maps, split by mask and sorted. */
export interface PixelPool {
  /** Order-preserving keys (`sort.ts`) of the anomalous pixels' scores, ascending. */
  anomalousKeys: Uint32Array;
  /**
   * For each entry of `anomalousKeys`, 1 / (pixels in its region): summed over the pixels above
   * a threshold, this gives the sum over regions of their overlap fractions.
   */
  regionWeights: Float64Array;
  /** Order-preserving keys of the normal pixels' scores, ascending. */
  normalKeys: Uint32Array;
  /** Number of anomaly regions (8-connected components of the masks). */
  regionCount: number;
}

/**
 * Validates and pools `maps` (row-major float32, `height * width` each) with their binary
 * `masks`. Errors name `where` and the image as `maps[i]` / `masks[i]`, with `i` taken from
 * `imageIndices` when the maps are a subset of a larger list.
 */
export function poolPixels(
  maps: readonly Float32Array[],
  masks: readonly Uint8Array[],
  shape: readonly [number, number],
  where: string,
  imageIndices?: readonly number[],
): PixelPool {
  const pixels = checkShape(shape, where);
  if (maps.length !== masks.length) {
    throw new Error(`${where}: ${maps.length} maps but ${masks.length} masks`);
  }
  if (maps.length === 0) throw new Error(`${where}: no maps given`);
  const imageName = (i: number) => String(imageIndices?.[i] ?? i);
  let anomalousCount = 0;
  for (let i = 0; i < maps.length; i++) {
    if (!(maps[i] instanceof Float32Array)) {
      throw new Error(`${where}: maps[${imageName(i)}] is not a Float32Array`);
    }
    checkLength(maps[i], pixels, shape, `${where}: maps[${imageName(i)}]`);
    checkLength(masks[i], pixels, shape, `${where}: masks[${imageName(i)}]`);
    anomalousCount += countBinaryOnes(masks[i], shape[1], `${where}: masks[${imageName(i)}]`);
  }
  const anomalousKeys = new Uint32Array(anomalousCount);
  const anomalousRegions = new Int32Array(anomalousCount);
  const normalKeys = new Uint32Array(maps.length * pixels - anomalousCount);
  const regionSizes: number[] = [];
  let a = 0;
  let n = 0;
  for (let i = 0; i < maps.length; i++) {
    const bits = float32Bits(maps[i]);
    const mask = masks[i];
    const nanAt = findNaN(bits);
    if (nanAt >= 0) {
      throw new Error(
        `${where}: maps[${imageName(i)}] is NaN at pixel ${nanAt} (${
          pixelPosition(nanAt, shape[1])
        })`,
      );
    }
    const regions = regionLabelsIfAny(mask, shape);
    const regionOffset = regionSizes.length;
    if (regions === undefined) {
      for (let p = 0; p < pixels; p++) normalKeys[n++] = float32BitsToKey(bits[p]);
      continue;
    }
    for (let p = 0; p < pixels; p++) {
      const key = float32BitsToKey(bits[p]);
      const region = regions.labels[p];
      if (region < 0) {
        normalKeys[n++] = key;
      } else {
        anomalousKeys[a] = key;
        anomalousRegions[a++] = regionOffset + region;
      }
    }
    for (let r = 0; r < regions.count; r++) regionSizes.push(regions.sizes[r]);
  }
  const sortedAnomalous = radixSortKeys(anomalousKeys, anomalousRegions, { reuseInput: true });
  const regionOrder = sortedAnomalous.payload as Int32Array;
  const regionWeights = new Float64Array(anomalousCount);
  for (let k = 0; k < anomalousCount; k++) regionWeights[k] = 1 / regionSizes[regionOrder[k]];
  return {
    anomalousKeys: sortedAnomalous.keys,
    regionWeights,
    normalKeys: radixSortKeys(normalKeys, undefined, { reuseInput: true }).keys,
    regionCount: regionSizes.length,
  };
}

function checkLength(
  values: ArrayLike<number>,
  pixels: number,
  shape: readonly [number, number],
  what: string,
): void {
  if (values.length !== pixels) {
    throw new Error(
      `${what} has ${values.length} pixels but shape [${shape.join(", ")}] needs ${pixels}`,
    );
  }
}

/** Counts the ones of a 0/1 mask; throws naming `what` and the first other value. */
export function countBinaryOnes(mask: Uint8Array, width: number, what: string): number {
  if (!(mask instanceof Uint8Array)) throw new Error(`${what} is not a Uint8Array`);
  let ones = 0;
  for (let p = 0; p < mask.length; p++) {
    const value = mask[p];
    if (value > 1) {
      throw new Error(
        `${what} is ${value} at pixel ${p} (${pixelPosition(p, width)}); masks must be 0/1 ` +
          `(binarise them before evaluation)`,
      );
    }
    ones += value;
  }
  return ones;
}

function findNaN(bits: Uint32Array): number {
  for (let p = 0; p < bits.length; p++) {
    if (isNaNBits(bits[p])) return p;
  }
  return -1;
}

function regionLabelsIfAny(mask: Uint8Array, shape: readonly [number, number]) {
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] !== 0) return connectedComponents(mask, shape, 8);
  }
  return undefined;
}
