/**
 * Reader for the MVTec AD folder layout, also used by MPDD and BTAD:
 *
 * ```
 * root/<class>/train/good/*.png            normal training images ("ok" in BTAD)
 * root/<class>/test/<defect>/*.png         test images; "good"/"ok" are normal
 * root/<class>/ground_truth/<defect>/<stem>_mask.png   (MVTec AD, MPDD)
 * root/<class>/ground_truth/<defect>/<stem>.png        (BTAD)
 * ```
 *
 * Masks are matched to images by file stem, with or without the `_mask` suffix. The normal
 * folder name "ok" (BTAD) is reported as defect "good", the name every other part of ccl-ad
 * uses for normal images. Mask folders for normal images (`ground_truth/good`), if present,
 * are not read: normal images have all-zero masks by definition.
 * @module
 */

import { basename, join, resolve } from "@std/path";
import { DatasetError } from "./errors.ts";
import {
  assertNoUnusedMasks,
  buildDataset,
  indexMasks,
  isDirectory,
  listImageFiles,
  listSubdirectories,
  type ReadOptions,
  selectClasses,
  takeMask,
} from "./listing.ts";
import type { Dataset, SampleRecord } from "./types.ts";
import { validateDataset } from "./validate.ts";

/** Folder names that hold normal images: "good" (MVTec AD, MPDD) and "ok" (BTAD). */
export const NORMAL_FOLDER_NAMES: readonly string[] = ["good", "ok"];

function isNormalFolder(name: string): boolean {
  return NORMAL_FOLDER_NAMES.includes(name.toLowerCase());
}

async function normalTrainFolder(classDir: string): Promise<string | undefined> {
  const trainDir = join(classDir, "train");
  if (!(await isDirectory(trainDir))) return undefined;
  const normal = (await listSubdirectories(trainDir)).filter(isNormalFolder);
  return normal.length === 1 ? join(trainDir, normal[0]) : undefined;
}

/**
 * The classes of an MVTec-layout dataset: sub-folders of `root` holding `train/good` (or
 * `train/ok`), sorted.
 */
export async function listMvtecClasses(root: string): Promise<string[]> {
  const classes: string[] = [];
  for (const name of await listSubdirectories(root)) {
    if ((await normalTrainFolder(join(root, name))) !== undefined) classes.push(name);
  }
  return classes;
}

/**
 * Reads an MVTec AD / MPDD / BTAD dataset.
 *
 * Errors ({@link DatasetError}, naming the file): an anomalous test image without a mask, a mask
 * that matches no test image, two masks for one image, a class without train or test images, a
 * non-image file inside an image folder, and (when validating) unreadable images and masks
 * whose size differs from their image.
 *
 * @example
 * ```ts ignore
 * import { readMvtecDataset } from "./mvtec.ts";
 * const ds = await readMvtecDataset("/data/mvtec_ad", { classes: ["bottle", "carpet"] });
 * console.log(ds.classes, ds.records.length);
 * ```
 */
export async function readMvtecDataset(root: string, options: ReadOptions = {}): Promise<Dataset> {
  root = resolve(root);
  const available = await listMvtecClasses(root);
  if (available.length === 0) {
    throw new DatasetError("no class folders with train/good (or train/ok) found", root);
  }
  const classes = selectClasses(available, options.classes, root);
  const records: SampleRecord[] = [];
  for (const className of classes) {
    records.push(...await readMvtecClass(join(root, className), className));
  }
  const dataset = buildDataset({
    name: options.name ?? basename(root),
    root,
    layout: "mvtec",
    records,
  });
  if (options.validate !== false) await validateDataset(dataset);
  return dataset;
}

async function readMvtecClass(classDir: string, className: string): Promise<SampleRecord[]> {
  const records: SampleRecord[] = [];
  const trainDir = join(classDir, "train");
  for (const folder of await listSubdirectories(trainDir)) {
    if (!isNormalFolder(folder)) {
      throw new DatasetError(
        "train folder holds a non-normal sub-folder (only good/ok are expected)",
        join(trainDir, folder),
      );
    }
    for (const imagePath of await listImageFiles(join(trainDir, folder))) {
      records.push({ imagePath, className, split: "train", defect: "good", label: 0 });
    }
  }

  const testDir = join(classDir, "test");
  if (!(await isDirectory(testDir))) throw new DatasetError("class has no test folder", testDir);
  const groundTruthDir = join(classDir, "ground_truth");
  const testDefects = await listSubdirectories(testDir);
  for (const defect of testDefects) {
    const images = await listImageFiles(join(testDir, defect));
    if (isNormalFolder(defect)) {
      for (const imagePath of images) {
        records.push({ imagePath, className, split: "test", defect: "good", label: 0 });
      }
      continue;
    }
    const maskDir = join(groundTruthDir, defect);
    const masks = (await isDirectory(maskDir)) ? await indexMasks(maskDir) : new Map();
    for (const imagePath of images) {
      const maskPath = takeMask(masks, imagePath);
      if (maskPath === undefined) {
        throw new DatasetError(
          `anomalous test image has no mask (looked in ${maskDir} for <stem>_mask.* or <stem>.*)`,
          imagePath,
        );
      }
      records.push({ imagePath, className, split: "test", defect, label: 1, maskPath });
    }
    assertNoUnusedMasks(masks);
  }
  await assertNoOrphanMaskFolders(groundTruthDir, testDefects);
  return records;
}

async function assertNoOrphanMaskFolders(groundTruthDir: string, testDefects: string[]) {
  if (!(await isDirectory(groundTruthDir))) return;
  for (const defect of await listSubdirectories(groundTruthDir)) {
    if (!isNormalFolder(defect) && !testDefects.includes(defect)) {
      throw new DatasetError(
        "mask folder has no matching test folder",
        join(groundTruthDir, defect),
      );
    }
  }
}
