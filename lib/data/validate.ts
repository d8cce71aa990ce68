/**
 * Checking a listed dataset against the files on disk: every image readable, every mask the
 * same size as its image. Kept apart from the readers' fast listing because it touches every
 * file; the readers run it unless asked not to (`{ validate: false }`).
 * @module
 */

import { DatasetError } from "./errors.ts";
import { loadImage, loadMask, readImageSize } from "./image.ts";
import { assertClassesComplete } from "./listing.ts";
import type { Dataset, SampleRecord } from "./types.ts";

/** Options of {@link validateDataset}. */
export interface ValidateOptions {
  /** How many files are checked at once (default 8). */
  concurrency?: number;
  /**
   * Also decode every image fully (slow). Header checks miss files truncated after their
   * header; decoding catches them. Default false.
   */
  decode?: boolean;
}

/**
 * Checks that every image and mask of `dataset` can be read (header), that each mask has the
 * size of its image, and that every class has train and test images. Throws the first
 * {@link DatasetError} found, naming the file.
 *
 * @example
 * ```ts ignore
 * import { readMvtecDataset } from "./mvtec.ts";
 * import { validateDataset } from "./validate.ts";
 * const ds = await readMvtecDataset("/data/mvtec", { validate: false }); // fast listing
 * await validateDataset(ds, { concurrency: 16 });
 * ```
 */
export async function validateDataset(
  dataset: Dataset,
  options: ValidateOptions = {},
): Promise<void> {
  assertClassesComplete(dataset.records, dataset.classes, dataset.root);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  await forEachLimited(dataset.records, concurrency, (record) => checkRecord(record, options));
}

async function checkRecord(record: SampleRecord, options: ValidateOptions): Promise<void> {
  const image = await readImageSize(record.imagePath);
  if (options.decode) await loadImage(record.imagePath, { resize: 8 });
  if (record.maskPath === undefined) return;
  const mask = await readImageSize(record.maskPath);
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new DatasetError(
      `mask is ${mask.width}x${mask.height} but its image ${record.imagePath} is ` +
        `${image.width}x${image.height}`,
      record.maskPath,
    );
  }
  if (options.decode) await loadImage(record.maskPath, { resize: 8 });
}

/**
 * Decodes every test image and mask of `dataset` once, fully, so a file damaged after its
 * header (a truncated download) or a mask in the wrong value range fails before training
 * starts rather than at evaluation, hours later. Throws the first {@link DatasetError}, naming
 * the file. Returns how many files were decoded.
 *
 * @example
 * ```ts ignore
 * import { readDataset } from "./read_dataset.ts";
 * import { decodeTestFiles } from "./validate.ts";
 * await decodeTestFiles(await readDataset("/data/mvtec"));
 * ```
 */
export async function decodeTestFiles(
  dataset: Dataset,
  options: { concurrency?: number } = {},
): Promise<number> {
  const files: Array<{ path: string; mask: boolean }> = [];
  for (const record of dataset.records) {
    if (record.split !== "test") continue;
    files.push({ path: record.imagePath, mask: false });
    if (record.maskPath !== undefined) files.push({ path: record.maskPath, mask: true });
  }
  await forEachLimited(files, Math.max(1, options.concurrency ?? 4), async ({ path, mask }) => {
    // A small output size keeps this cheap; the whole file is still decoded to produce it.
    if (mask) await loadMask(path, 8);
    else await loadImage(path, { resize: 8 });
  });
  return files.length;
}

/**
 * Anomalous records without a ground-truth mask. Pixel-level metrics (P-AUROC, P-AP, AUPRO...)
 * cannot be computed for a dataset where this is non-empty; evaluation must report them as
 * unavailable instead of scoring an all-zero mask.
 */
export function anomaliesWithoutMask(records: readonly SampleRecord[]): SampleRecord[] {
  return records.filter((r) => r.label === 1 && r.maskPath === undefined);
}

/** Runs `task` over `items` with at most `limit` in flight; rejects with the first failure. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
