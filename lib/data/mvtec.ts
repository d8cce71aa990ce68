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

/** What a sub-folder of an MVTec-layout root turned out to be. */
export type MvtecFolderKind =
  | { kind: "class" }
  | { kind: "broken"; problem: string }
  | { kind: "foreign" };

/** Sub-folder names that mark a folder as meant to be a class (compared in lower case). */
function looksLikeClassPart(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith("train") || lower.startsWith("test") || lower.startsWith("ground");
}

/**
 * Sorts a sub-folder of the root into a readable class (`train/good` or `train/ok`), a
 * class-like folder that cannot be read as one (it has `train*`, `test*` or `ground*` folders,
 * but not a single `train/good`), or a foreign folder (none of those, e.g. `docs/`).
 */
export async function classifyMvtecFolder(classDir: string): Promise<MvtecFolderKind> {
  const parts = await listSubdirectories(classDir);
  const trainDir = join(classDir, "train");
  if (parts.includes("train")) {
    const normal = (await listSubdirectories(trainDir)).filter(isNormalFolder);
    if (normal.length === 1) return { kind: "class" };
    if (normal.length > 1) {
      return { kind: "broken", problem: `train/ holds several normal folders (${normal})` };
    }
    const found = await listSubdirectories(trainDir);
    return {
      kind: "broken",
      problem: `train/ has no good/ (or ok/) folder of normal images` +
        (found.length ? ` (found ${found.map((f) => `train/${f}`).join(", ")})` : ""),
    };
  }
  const classLike = parts.filter(looksLikeClassPart);
  if (classLike.length === 0) return { kind: "foreign" };
  return {
    kind: "broken",
    problem: `no train/good (or train/ok) folder (found ${classLike.map((f) => `${f}/`)})`,
  };
}

/** The sub-folders of an MVTec-layout root, sorted into classes, broken classes and others. */
export interface MvtecRootListing {
  /** Readable classes, sorted. */
  classes: string[];
  /** Class-like folders that cannot be read as classes, with what is wrong. */
  broken: Array<{ name: string; problem: string }>;
  /** Folders that are clearly not classes (no train/test/ground_truth folders). */
  foreign: string[];
}

/** Sorts every sub-folder of `root` (see {@linkcode classifyMvtecFolder}). */
export async function inspectMvtecRoot(root: string): Promise<MvtecRootListing> {
  const listing: MvtecRootListing = { classes: [], broken: [], foreign: [] };
  for (const name of await listSubdirectories(root)) {
    const found = await classifyMvtecFolder(join(root, name));
    if (found.kind === "class") listing.classes.push(name);
    else if (found.kind === "broken") listing.broken.push({ name, problem: found.problem });
    else listing.foreign.push(name);
  }
  return listing;
}

/**
 * The classes of an MVTec-layout dataset: sub-folders of `root` holding `train/good` (or
 * `train/ok`), sorted. Class-like folders that cannot be read are left out here; the reader
 * reports them (see {@linkcode inspectMvtecRoot}).
 */
export async function listMvtecClasses(root: string): Promise<string[]> {
  return (await inspectMvtecRoot(root)).classes;
}

/**
 * Throws for class-like folders that cannot be read (among the requested classes, or any when
 * all are read) and prints a note for the folders passed over.
 */
function reportUnreadableFolders(
  root: string,
  listing: MvtecRootListing,
  requested: readonly string[] | undefined,
  note: (line: string) => void,
): void {
  const fatal = listing.broken.filter((b) => requested === undefined || requested.includes(b.name));
  if (fatal.length > 0) {
    const { name, problem } = fatal[0];
    throw new DatasetError(
      `class folder cannot be read as a class: ${problem}` +
        (fatal.length > 1 ? ` (also: ${fatal.slice(1).map((b) => b.name).join(", ")})` : "") +
        "; fix it, or choose the classes to read",
      join(root, name),
    );
  }
  for (const { name, problem } of listing.broken) {
    note(`note: ${join(root, name)} is not read (not among the chosen classes; ${problem})`);
  }
  for (const name of listing.foreign) {
    note(`note: ${join(root, name)} is not a class folder (no train/ or test/ in it); skipped`);
  }
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
  const listing = await inspectMvtecRoot(root);
  reportUnreadableFolders(root, listing, options.classes, options.note ?? console.error);
  const available = listing.classes;
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
