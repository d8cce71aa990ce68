/**
 * Reader for a custom dataset kept in plain folders: one folder of normal images, one of
 * anomalous images, optionally one of masks. One call reads one class; concatenate the
 * records of several calls (or several classes) for multi-class training.
 *
 * Masks are matched to anomalous images by file stem: image `scratch_01.jpg` takes
 * `scratch_01.png` or `scratch_01_mask.png` from the mask folder (any image extension).
 *
 * Without a mask folder the anomalous records have `maskPath` undefined. That is explicit, not
 * a fallback: image-level metrics still work, but pixel-level metrics cannot be computed and
 * must be reported as unavailable (see `anomaliesWithoutMask` in validate.ts); evaluating them
 * against all-zero masks would give meaningless numbers.
 * @module
 */

import { resolve } from "@std/path";
import { mulberry32, shuffleInPlace } from "../util/random.ts";
import { DatasetError } from "./errors.ts";
import {
  assertNoUnusedMasks,
  buildDataset,
  indexMasks,
  listImageFiles,
  takeMask,
} from "./listing.ts";
import type { Dataset, SampleRecord } from "./types.ts";
import { validateDataset } from "./validate.ts";

/** Options of {@link readFolderDataset}. */
export interface FolderDatasetOptions {
  /** Folder of normal images. Split into train/test by `trainFraction`, unless `normalTestDir`. */
  normalDir: string;
  /** Folder of anomalous images; all of them go to the test split (defect "anomaly"). */
  abnormalDir: string;
  /** Folder of masks for the anomalous images; every anomalous image must have one. */
  maskDir?: string;
  /** Class name of every record. */
  className: string;
  /**
   * Fraction of normal images used for training, the rest for testing (default 0.8). Each
   * side gets at least one image. Not allowed together with `normalTestDir`.
   */
  trainFraction?: number;
  /** Separate folder of normal test images; then all of `normalDir` is used for training. */
  normalTestDir?: string;
  /** Seed of the train/test split of the normal images. */
  seed: number;
  /** Check every image and mask on disk (default true). */
  validate?: boolean;
  /** Dataset name; defaults to `className`. */
  name?: string;
}

/**
 * Reads one class from plain folders. The dataset's `root` is `normalDir`; its layout is
 * "folder".
 *
 * @example
 * ```ts ignore
 * import { readFolderDataset } from "./folder.ts";
 * const ds = await readFolderDataset({
 *   normalDir: "/data/widgets/ok",
 *   abnormalDir: "/data/widgets/defect",
 *   maskDir: "/data/widgets/masks",
 *   className: "widget",
 *   trainFraction: 0.8,
 *   seed: 0,
 * });
 * ```
 */
export async function readFolderDataset(options: FolderDatasetOptions): Promise<Dataset> {
  const { className, seed } = options;
  if (className === "") throw new DatasetError("className must not be empty", options.normalDir);
  if (options.trainFraction !== undefined && options.normalTestDir !== undefined) {
    throw new DatasetError(
      "give either trainFraction or normalTestDir, not both",
      options.normalTestDir,
    );
  }
  const normalDir = resolve(options.normalDir);
  const normals = await listImageFiles(normalDir);
  let train: string[];
  let normalTest: string[];
  if (options.normalTestDir !== undefined) {
    train = normals;
    normalTest = await listImageFiles(resolve(options.normalTestDir));
  } else {
    [train, normalTest] = splitNormals(normals, options.trainFraction ?? 0.8, seed, normalDir);
  }

  const abnormalDir = resolve(options.abnormalDir);
  const abnormal = await listImageFiles(abnormalDir);
  if (abnormal.length === 0) throw new DatasetError("no anomalous images in", abnormalDir);
  const masks = options.maskDir === undefined
    ? undefined
    : await indexMasks(resolve(options.maskDir));

  const records: SampleRecord[] = [
    ...train.map((imagePath): SampleRecord => ({
      imagePath,
      className,
      split: "train",
      defect: "good",
      label: 0,
    })),
    ...normalTest.map((imagePath): SampleRecord => ({
      imagePath,
      className,
      split: "test",
      defect: "good",
      label: 0,
    })),
  ];
  for (const imagePath of abnormal) {
    const record: SampleRecord = {
      imagePath,
      className,
      split: "test",
      defect: "anomaly",
      label: 1,
    };
    if (masks !== undefined) {
      const maskPath = takeMask(masks, imagePath);
      if (maskPath === undefined) {
        throw new DatasetError(
          `anomalous image has no mask in ${options.maskDir} (<stem>.* or <stem>_mask.*)`,
          imagePath,
        );
      }
      record.maskPath = maskPath;
    }
    records.push(record);
  }
  if (masks !== undefined) assertNoUnusedMasks(masks);

  const dataset = buildDataset({
    name: options.name ?? className,
    root: normalDir,
    layout: "folder",
    records,
  });
  if (options.validate !== false) await validateDataset(dataset);
  return dataset;
}

/** Seeded split of the (sorted) normal images into [train, test], each non-empty. */
function splitNormals(
  normals: readonly string[],
  trainFraction: number,
  seed: number,
  normalDir: string,
): [string[], string[]] {
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`trainFraction must be in (0, 1), got ${trainFraction}`);
  }
  if (normals.length < 2) {
    throw new DatasetError(
      `need at least 2 normal images to split into train and test, found ${normals.length} in`,
      normalDir,
    );
  }
  const order = shuffleInPlace([...normals], mulberry32(seed));
  const nTrain = Math.min(
    normals.length - 1,
    Math.max(1, Math.round(normals.length * trainFraction)),
  );
  return [order.slice(0, nTrain), order.slice(nTrain)];
}
