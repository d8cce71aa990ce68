/**
 * Listing image files and masks on disk, and turning records into a sorted {@link Dataset}.
 * Shared by every reader so that they agree on what an image file is, how masks are matched
 * and how records are ordered.
 * @module
 */

import { basename, extname, join } from "@std/path";
import { DatasetError } from "./errors.ts";
import type { Dataset, SampleRecord } from "./types.ts";

/** File extensions (lower case) that the readers treat as images. */
export const IMAGE_EXTENSIONS: readonly string[] = [
  ".png",
  ".jpg",
  ".jpeg",
  ".bmp",
  ".tif",
  ".tiff",
  ".webp",
];

/**
 * Files an operating system drops into folders on its own. They are ignored; any other
 * non-image file inside an image folder is an error, so nothing is skipped silently.
 */
const SYSTEM_FILES = new Set(["thumbs.db", "desktop.ini"]);

/** Whether `name` has an image extension (case-insensitive). */
export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/**
 * The file name without folder and without its last extension.
 *
 * @example
 * ```ts
 * import { fileStem } from "./listing.ts";
 * fileStem("/d/ground_truth/cut/000_mask.png"); // "000_mask"
 * ```
 */
export function fileStem(path: string): string {
  const name = basename(path);
  return name.slice(0, name.length - extname(name).length);
}

/** The stem a mask file is matched by: its stem without a trailing `_mask`. */
export function maskMatchKey(path: string): string {
  const stem = fileStem(path);
  return stem.endsWith("_mask") ? stem.slice(0, -"_mask".length) : stem;
}

/** Whether a path exists (any kind of entry). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Whether a path is an existing directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Whether a path is an existing regular file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** A folder entry with symbolic links resolved to what they point to. */
interface ResolvedEntry {
  name: string;
  isDirectory: boolean;
  isFile: boolean;
}

/**
 * The entries of `dir`. A symbolic link counts as what it points to (a dataset assembled from
 * links to class folders or image folders is read like a copied one); a broken link is an error.
 */
async function readEntries(dir: string): Promise<ResolvedEntry[]> {
  const raw = await readRawEntries(dir);
  return await Promise.all(raw.map(async (entry): Promise<ResolvedEntry> => {
    if (!entry.isSymlink) return entry;
    const path = join(dir, entry.name);
    try {
      const target = await Deno.stat(path);
      return { name: entry.name, isDirectory: target.isDirectory, isFile: target.isFile };
    } catch (e) {
      if (entry.name.startsWith(".")) {
        return { name: entry.name, isDirectory: false, isFile: false };
      }
      throw new DatasetError(`broken symbolic link (${(e as Error).message})`, path, { cause: e });
    }
  }));
}

async function readRawEntries(dir: string): Promise<Deno.DirEntry[]> {
  try {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    return entries;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DatasetError("folder does not exist", dir, { cause: e });
    }
    throw new DatasetError(`cannot read folder (${(e as Error).message})`, dir, { cause: e });
  }
}

/** Names of the sub-folders of `dir`, sorted. Throws a {@link DatasetError} if `dir` is missing. */
export async function listSubdirectories(dir: string): Promise<string[]> {
  const entries = await readEntries(dir);
  return entries.filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort(compareStrings);
}

/**
 * Full paths of the image files directly inside `dir`, sorted by name.
 *
 * Hidden files and OS droppings (Thumbs.db, desktop.ini) are ignored. Any other file that is
 * not an image, and any sub-folder, is a {@link DatasetError}: a stray file in an image folder
 * usually means the layout is not what the reader thinks it is.
 */
export async function listImageFiles(dir: string): Promise<string[]> {
  const entries = await readEntries(dir);
  const images: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || SYSTEM_FILES.has(entry.name.toLowerCase())) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      throw new DatasetError("unexpected sub-folder inside an image folder", path);
    }
    if (!isImageFile(entry.name)) {
      throw new DatasetError(
        `not an image file (expected one of ${IMAGE_EXTENSIONS.join(", ")})`,
        path,
      );
    }
    images.push(path);
  }
  return images.sort(compareStrings);
}

/**
 * Indexes the masks in `dir` by {@link maskMatchKey}, so `000.png` is found for image `000.*`
 * whether the mask is named `000_mask.png` (MVTec AD, MPDD) or `000.png` (BTAD).
 * Two masks claiming the same image is an error.
 */
export async function indexMasks(dir: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  for (const path of await listImageFiles(dir)) {
    const key = maskMatchKey(path);
    const previous = index.get(key);
    if (previous !== undefined) {
      throw new DatasetError(`two masks match image stem "${key}" (${previous})`, path);
    }
    index.set(key, path);
  }
  return index;
}

/**
 * Takes the mask for `imagePath` out of `masks` (so leftovers can be reported afterwards).
 * Returns undefined when there is none.
 */
export function takeMask(masks: Map<string, string>, imagePath: string): string | undefined {
  const key = fileStem(imagePath);
  const mask = masks.get(key);
  if (mask !== undefined) masks.delete(key);
  return mask;
}

/** Throws if any mask in `masks` was not claimed by an image: it means a misnamed file. */
export function assertNoUnusedMasks(masks: Map<string, string>): void {
  for (const path of masks.values()) {
    throw new DatasetError("mask matches no image (matched by file stem, `_mask` optional)", path);
  }
}

/** Plain code-unit comparison: the same order on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SPLIT_ORDER = { train: 0, test: 1 } as const;

/** Record order used by every reader: class, split (train first), defect, file name, path. */
export function compareRecords(a: SampleRecord, b: SampleRecord): number {
  return compareStrings(a.className, b.className) ||
    SPLIT_ORDER[a.split] - SPLIT_ORDER[b.split] ||
    compareStrings(a.defect, b.defect) ||
    compareStrings(basename(a.imagePath), basename(b.imagePath)) ||
    compareStrings(a.imagePath, b.imagePath);
}

/**
 * Every class must have at least one train image and one test image; otherwise it cannot be
 * trained or evaluated, and a silently empty class would skew class-averaged metrics.
 */
export function assertClassesComplete(
  records: readonly SampleRecord[],
  classes: readonly string[],
  root: string,
): void {
  const counts = new Map<string, { train: number; test: number }>();
  for (const r of records) {
    const count = counts.get(r.className) ?? { train: 0, test: 0 };
    count[r.split]++;
    counts.set(r.className, count);
  }
  for (const className of classes) {
    const count = counts.get(className) ?? { train: 0, test: 0 };
    if (count.train === 0 || count.test === 0) {
      const missing = count.train === 0 ? "train" : "test";
      throw new DatasetError(`class "${className}" has no ${missing} images`, root);
    }
  }
}

/** Builds a {@link Dataset}: sorts the records, derives the class list, checks no class is empty. */
export function buildDataset(
  fields: { name: string; root: string; layout: string; records: SampleRecord[] },
): Dataset {
  const records = [...fields.records].sort(compareRecords);
  const classes = [...new Set(records.map((r) => r.className))].sort(compareStrings);
  if (records.length === 0) throw new DatasetError("dataset has no images", fields.root);
  assertClassesComplete(records, classes, fields.root);
  return { name: fields.name, root: fields.root, layout: fields.layout, records, classes };
}

/** Options shared by the dataset readers. */
export interface ReadOptions {
  /** Read only these classes (each must exist). Default: all. */
  classes?: readonly string[];
  /** Check every image and mask on disk with `validateDataset` (default true). */
  validate?: boolean;
  /** Dataset name; defaults to the root folder's name. */
  name?: string;
  /** Where notes about passed-over folders go (default `console.error`). */
  note?: (line: string) => void;
}

/** Checks a requested class subset against the classes found; returns the classes to read. */
export function selectClasses(
  available: readonly string[],
  requested: readonly string[] | undefined,
  root: string,
): string[] {
  if (requested === undefined) return [...available];
  for (const name of requested) {
    if (!available.includes(name)) {
      throw new DatasetError(
        `class "${name}" not found (available: ${available.join(", ")}) in`,
        root,
      );
    }
  }
  return [...new Set(requested)];
}

/** A file a split list points to, and where in that list it is named (for the error message). */
export interface ListedFile {
  path: string;
  /** E.g. `row 12 of /data/visa/split_csv/1cls.csv`. */
  listedAt: string;
}

/**
 * Throws a {@link DatasetError} for the first listed file that does not exist, naming the file
 * and the list entry that points to it. Checks run 64 at a time.
 */
export async function assertListedFilesExist(files: readonly ListedFile[]): Promise<void> {
  const chunk = 64;
  for (let start = 0; start < files.length; start += chunk) {
    const part = files.slice(start, start + chunk);
    const found = await Promise.all(part.map((f) => isFile(f.path)));
    const missing = found.indexOf(false);
    if (missing >= 0) {
      throw new DatasetError(
        `${part[missing].listedAt} points to a missing file`,
        part[missing].path,
      );
    }
  }
}
