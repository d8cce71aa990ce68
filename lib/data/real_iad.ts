/**
 * Reader for Real-IAD, whose splits are one JSON file per class:
 *
 * ```
 * root/realiad_jsons/<class>.json     (a folder named `jsons`, or the archive's nested
 *                                      realiad_jsons/realiad_jsons/, are accepted too)
 * { "meta": {...},
 *   "train": [{ "category": "audiojack", "anomaly_class": "OK",
 *               "image_path": "audiojack/OK/S0001/x_C1.jpg", "mask_path": null }, ...],
 *   "test":  [...] }
 * ```
 *
 * Image and mask paths are resolved against, in order, `meta.prefix` (if given, relative to
 * root), `root/realiad_1024/<class>/`, `root/realiad_1024/` and `root/`; the first base under
 * which the class's first image exists is used for the whole file, and every listed file must
 * exist under it. Real-IAD is multi-view: each view is its own record. Anomaly class "OK" is
 * normal (defect "good"); any other value is the defect name. Anomalous images in the train
 * list (the noisy-training variants) are kept, with label 1.
 * @module
 */

import { basename, join, resolve } from "@std/path";
import { DatasetError } from "./errors.ts";
import {
  assertListedFilesExist,
  buildDataset,
  compareStrings,
  fileStem,
  isDirectory,
  isFile,
  type ListedFile,
  type ReadOptions,
  selectClasses,
} from "./listing.ts";
import type { Dataset, SampleRecord, Split } from "./types.ts";
import { validateDataset } from "./validate.ts";

/** Names of the JSON folder looked for under the root, in order. */
export const REAL_IAD_JSON_DIRS: readonly string[] = [
  "realiad_jsons",
  "jsons",
  "realiad_jsons/realiad_jsons",
];

/** Options of {@link readRealIadDataset}. */
export interface RealIadOptions extends ReadOptions {
  /** Folder of the per-class JSON files (absolute or relative to root); default: auto. */
  jsonDir?: string;
}

async function jsonFilesIn(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    // A symbolic link is taken for a file here; reading it later names it if it is not one.
    const fileLike = entry.isFile || entry.isSymlink;
    if (fileLike && entry.name.toLowerCase().endsWith(".json")) files.push(entry.name);
  }
  return files.sort(compareStrings);
}

/**
 * Finds the folder of per-class JSON files under `root`, or undefined if there is none.
 * A candidate folder without JSON files is passed over for the next one.
 */
export async function findRealIadJsonDir(root: string): Promise<string | undefined> {
  for (const name of REAL_IAD_JSON_DIRS) {
    const dir = join(root, name);
    if ((await isDirectory(dir)) && (await jsonFilesIn(dir)).length > 0) return dir;
  }
  return undefined;
}

/**
 * Reads Real-IAD from its per-class JSON split files.
 *
 * Errors ({@link DatasetError}, naming the file): no JSON folder, invalid JSON or a missing
 * train/test list, an entry without `image_path` or `anomaly_class`, an image found under none
 * of the candidate bases, a listed file that does not exist, an anomalous test image without a
 * mask, a class without train or test images, and (when validating) unreadable images and
 * masks whose size differs from their image.
 *
 * @example
 * ```ts ignore
 * import { readRealIadDataset } from "./real_iad.ts";
 * const ds = await readRealIadDataset("/data/real_iad", { classes: ["audiojack"] });
 * ```
 */
export async function readRealIadDataset(
  root: string,
  options: RealIadOptions = {},
): Promise<Dataset> {
  root = resolve(root);
  const jsonDir = options.jsonDir !== undefined
    ? resolve(root, options.jsonDir)
    : await findRealIadJsonDir(root);
  if (jsonDir === undefined || !(await isDirectory(jsonDir))) {
    throw new DatasetError(
      `no Real-IAD JSON folder (looked for ${REAL_IAD_JSON_DIRS.join(", ")} with *.json) under`,
      jsonDir ?? root,
    );
  }
  const files = await jsonFilesIn(jsonDir);
  const available = files.map(fileStem);
  const classes = selectClasses(available, options.classes, jsonDir);
  const records: SampleRecord[] = [];
  for (const className of classes) {
    records.push(...await readClassJson(root, join(jsonDir, `${className}.json`), className));
  }
  const dataset = buildDataset({
    name: options.name ?? basename(root),
    root,
    layout: "real-iad",
    records,
  });
  if (options.validate !== false) await validateDataset(dataset);
  return dataset;
}

interface JsonEntry {
  category?: unknown;
  anomaly_class?: unknown;
  image_path?: unknown;
  mask_path?: unknown;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new DatasetError(`cannot read split file (${(e as Error).message})`, path, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(`invalid JSON (${(e as Error).message})`, path, { cause: e });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DatasetError("split file is not a JSON object", path);
  }
  return value as Record<string, unknown>;
}

async function readClassJson(
  root: string,
  jsonPath: string,
  fileClass: string,
): Promise<SampleRecord[]> {
  const json = await readJson(jsonPath);
  const lists: [Split, JsonEntry[]][] = [];
  for (const split of ["train", "test"] as const) {
    const list = json[split];
    if (!Array.isArray(list)) {
      throw new DatasetError(`split file has no "${split}" list`, jsonPath);
    }
    lists.push([split, list as JsonEntry[]]);
  }
  const first = lists.flatMap(([, list]) => list)[0];
  if (first === undefined) throw new DatasetError("split file lists no images", jsonPath);
  const base = await findImageBase(root, jsonPath, json.meta, fileClass, first);

  const records: SampleRecord[] = [];
  const listed: ListedFile[] = [];
  for (const [split, list] of lists) {
    list.forEach((entry, i) => {
      const where = `${jsonPath} ${split}[${i}]`;
      const record = entryToRecord(entry, split, base, fileClass, where);
      records.push(record);
      listed.push({ path: record.imagePath, listedAt: where });
      if (record.maskPath !== undefined) listed.push({ path: record.maskPath, listedAt: where });
    });
  }
  await assertListedFilesExist(listed);
  return records;
}

async function findImageBase(
  root: string,
  jsonPath: string,
  meta: unknown,
  fileClass: string,
  first: JsonEntry,
): Promise<string> {
  if (typeof first?.image_path !== "string") {
    throw new DatasetError(`first entry has no string "image_path"`, jsonPath);
  }
  const bases: string[] = [];
  const prefix = (meta as { prefix?: unknown } | undefined)?.prefix;
  if (typeof prefix === "string" && prefix !== "") bases.push(resolve(root, prefix));
  bases.push(join(root, "realiad_1024", fileClass), join(root, "realiad_1024"), root);
  for (const base of bases) {
    if (await isFile(join(base, first.image_path))) return base;
  }
  throw new DatasetError(
    `image "${first.image_path}" listed in ${jsonPath} exists under none of ` +
      `${bases.join(", ")}; tried`,
    bases.map((b) => join(b, first.image_path as string)).join(", "),
  );
}

function entryToRecord(
  entry: JsonEntry,
  split: Split,
  base: string,
  fileClass: string,
  where: string,
): SampleRecord {
  if (typeof entry !== "object" || entry === null) {
    throw new DatasetError(`${where} is not an object`, where);
  }
  if (typeof entry.image_path !== "string" || entry.image_path === "") {
    throw new DatasetError(`${where} has no "image_path"`, where);
  }
  if (typeof entry.anomaly_class !== "string" || entry.anomaly_class === "") {
    throw new DatasetError(`${where} has no "anomaly_class"`, where);
  }
  const className = typeof entry.category === "string" && entry.category !== ""
    ? entry.category
    : fileClass;
  const imagePath = join(base, entry.image_path);
  const maskRel = entry.mask_path;
  if (maskRel !== null && maskRel !== undefined && typeof maskRel !== "string") {
    throw new DatasetError(`${where} has a "mask_path" that is not a string or null`, where);
  }
  const maskPath = typeof maskRel === "string" && maskRel !== "" ? join(base, maskRel) : undefined;
  if (entry.anomaly_class.toUpperCase() === "OK") {
    if (maskPath !== undefined) {
      throw new DatasetError(`${where}: normal image has a mask (${maskRel})`, imagePath);
    }
    return { imagePath, className, split, defect: "good", label: 0 };
  }
  if (maskPath === undefined && split === "test") {
    throw new DatasetError(`${where}: anomalous test image has no mask`, imagePath);
  }
  return {
    imagePath,
    className,
    split,
    defect: entry.anomaly_class,
    label: 1,
    ...(maskPath === undefined ? {} : { maskPath }),
  };
}
