/**
 * Batches of decoded images as plain typed arrays, with a seeded per-epoch shuffle, decoding
 * ahead of the consumer, and an optional in-memory cache (bounded: `decode_cache.ts`). No TF.js
 * here: the runner turns the arrays into tensors.
 * @module
 */

import type { DecodeCacheLike } from "./decode_cache.ts";
import { deriveSeed, mulberry32, shuffleInPlace } from "../util/random.ts";
import { loadImage, loadMask, normalizeImageNet } from "./image.ts";
import type { SampleRecord } from "./types.ts";

/** A batch of images (NHWC, row-major) with their records and optional masks. */
export interface Batch {
  /** `B * H * W * 3` values; ImageNet-normalised unless `normalize: false` (then [0, 1]). */
  images: Float32Array;
  /** One `H * W` mask of 0/1 per image, when `withMasks` is set. */
  masks?: Uint8Array[];
  records: SampleRecord[];
  shape: [number, number, number, 3];
}

/**
 * Decoded images (values in [0, 1]) and masks, keyed by path and size: a
 * {@linkcode BoundedDecodeCache} (what runs use), or a plain `Map` (unbounded).
 */
export type DecodeCache = DecodeCacheLike;
export { BoundedDecodeCache } from "./decode_cache.ts";

/** Options of {@link batchIterator}. */
export interface BatchOptions {
  batchSize: number;
  /** Side of the square the images are resized to. */
  size: number;
  /** Side of the centre crop after resizing (default `size`). */
  crop?: number;
  /** Shuffle the order each epoch (default false: records in the given order). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0); the order depends on `seed + epoch`. */
  seed?: number;
  /** Epoch number, so each epoch gets its own order (default 0). */
  epoch?: number;
  /** Drop a last batch smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** How many batches are decoded ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Also load ground-truth masks (default false). */
  withMasks?: boolean;
  /** Apply ImageNet normalisation (default true). Turn off to augment first. */
  normalize?: boolean;
  /**
   * Keeps decoded images (and masks) across epochs and iterators; pass the same cache each
   * epoch. Decoding is the bulk of the time. A {@linkcode BoundedDecodeCache} bounds the
   * memory; a plain `Map` does not.
   */
  cache?: DecodeCache;
}

/**
 * The record order of one epoch: `0..n-1`, shuffled with a generator seeded from
 * `seed + epoch` when `shuffle` is set.
 */
export function epochOrder(
  n: number,
  options: { shuffle?: boolean; seed?: number; epoch?: number } = {},
): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (!options.shuffle) return order;
  const seed = (options.seed ?? 0) + (options.epoch ?? 0);
  return shuffleInPlace(order, mulberry32(deriveSeed(seed, "batch-order")));
}

/**
 * Yields batches of decoded images. While the consumer works on one batch, the next
 * `prefetch` batches are already being decoded.
 *
 * @example
 * ```ts ignore
 * import { batchIterator, BoundedDecodeCache } from "./batches.ts";
 * import { readDataset } from "./read_dataset.ts";
 * const ds = await readDataset("/data/mvtec_ad");
 * const train = ds.records.filter((r) => r.split === "train");
 * const cache = new BoundedDecodeCache({ maxBytes: 2 ** 30 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const batch of batchIterator(train, { batchSize: 16, size: 256, shuffle: true, seed: 1, epoch, cache })) {
 *     // batch.images: Float32Array of shape batch.shape
 *   }
 * }
 * ```
 */
export async function* batchIterator(
  records: readonly SampleRecord[],
  options: BatchOptions,
): AsyncGenerator<Batch, void, undefined> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const prefetch = options.prefetch ?? 2;
  if (!Number.isInteger(prefetch) || prefetch < 0) {
    throw new RangeError(`prefetch must be a non-negative integer, got ${prefetch}`);
  }
  const order = epochOrder(records.length, options);
  const groups: SampleRecord[][] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const group = order.slice(start, start + batchSize).map((i) => records[i]);
    if (group.length < batchSize && options.dropLast) break;
    groups.push(group);
  }

  const pending: Promise<Batch>[] = [];
  let next = 0;
  const startNext = () => {
    const promise = loadBatch(groups[next++], options);
    // Marked handled so that a consumer stopping early leaves no unhandled rejection behind;
    // the error still surfaces when this batch is awaited.
    promise.catch(() => {});
    pending.push(promise);
  };
  while (next < groups.length && pending.length <= prefetch) startNext();
  while (pending.length > 0) {
    const batch = await pending.shift()!;
    if (next < groups.length) startNext();
    yield batch;
  }
}

/** Loads one group of records into a {@link Batch}. */
export async function loadBatch(
  records: readonly SampleRecord[],
  options: Omit<BatchOptions, "batchSize">,
): Promise<Batch> {
  const resize = options.size;
  const crop = options.crop ?? resize;
  const load = { resize, crop };
  const pixels = crop * crop * 3;
  const [images, masks] = await Promise.all([
    Promise.all(
      records.map((r) =>
        cached(
          options.cache,
          `image:${resize}:${crop}:${r.imagePath}`,
          () => loadImage(r.imagePath, load),
        )
      ),
    ),
    options.withMasks
      ? Promise.all(
        records.map((r) =>
          r.maskPath === undefined ? Promise.resolve(new Uint8Array(crop * crop)) : cached(
            options.cache,
            `mask:${resize}:${crop}:${r.maskPath}`,
            () => loadMask(r.maskPath, load),
          )
        ),
      )
      : Promise.resolve(undefined),
  ]);
  const out = new Float32Array(records.length * pixels);
  images.forEach((image, i) => {
    const target = out.subarray(i * pixels, (i + 1) * pixels);
    if (options.normalize === false) target.set(image);
    else normalizeImageNet(image as Float32Array, target);
  });
  const batch: Batch = {
    images: out,
    records: [...records],
    shape: [records.length, crop, crop, 3],
  };
  if (masks !== undefined) batch.masks = masks.map((m) => Uint8Array.from(m));
  return batch;
}

async function cached<T extends Float32Array | Uint8Array>(
  cache: DecodeCache | undefined,
  key: string,
  load: () => Promise<T>,
): Promise<T> {
  if (cache === undefined) return await load();
  const hit = cache.get(key);
  if (hit !== undefined) return hit as T;
  const value = await load();
  cache.set(key, value);
  return value;
}
