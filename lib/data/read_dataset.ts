/**
 * One entry point for every on-disk dataset layout: detects the layout of a root folder and
 * dispatches to its reader.
 * @module
 */

import { join, resolve } from "@std/path";
import { DatasetError } from "./errors.ts";
import { isDirectory, isFile, type ReadOptions } from "./listing.ts";
import { listMantaDomains, readMantaDataset } from "./manta.ts";
import { inspectMvtecRoot, readMvtecDataset } from "./mvtec.ts";
import { findRealIadJsonDir, readRealIadDataset } from "./real_iad.ts";
import type { Dataset } from "./types.ts";
import { isUnionFolder, readUnionDataset, UNION_MANIFEST } from "./union.ts";
import { readVisaDataset, VISA_SPLIT_FILE } from "./visa.ts";

/** The layouts {@link readDataset} recognises. */
export type DatasetLayout = "visa" | "real-iad" | "mvtec" | "manta" | "union";

/**
 * Detects the layout of `root`: VisA if `split_csv/1cls.csv` exists, Real-IAD if a
 * `realiad_jsons/` or `jsons/` folder of JSON files exists, MVTec AD (also BTAD, MPDD) if some
 * sub-folder holds `train/good` (or `train/ok`) or looks like a class (`train*`, `test*` folders),
 * a union if it holds `ccl_union.json` (see `union.ts`), MANTA if some sub-folder is itself an
 * MVTec-layout root (`<domain>/<class>/train/good`). Throws a {@link DatasetError} otherwise.
 */
export async function detectLayout(root: string): Promise<DatasetLayout> {
  root = resolve(root);
  if (!(await isDirectory(root))) throw new DatasetError("dataset root is not a folder", root);
  if (await isFile(join(root, VISA_SPLIT_FILE))) return "visa";
  if ((await findRealIadJsonDir(root)) !== undefined) return "real-iad";
  const mvtec = await inspectMvtecRoot(root);
  // A root whose only class-like folders are broken is still MVTec: its reader names them.
  if (mvtec.classes.length > 0 || mvtec.broken.length > 0) return "mvtec";
  if (await isUnionFolder(root)) return "union";
  if ((await listMantaDomains(root)).length > 0) return "manta";
  throw new DatasetError(
    `unknown dataset layout at ${root}: expected ${VISA_SPLIT_FILE} (VisA), ` +
      "realiad_jsons/ or jsons/ with <class>.json files (Real-IAD), " +
      "or <class>/train/good/ folders (MVTec AD, BTAD, MPDD), " +
      `<domain>/<class>/train/good/ folders (MANTA), or ${UNION_MANIFEST} (a union); ` +
      "for plain folders of images use readFolderDataset",
    root,
  );
}

/**
 * Reads the dataset at `root`, whatever its layout (see {@link detectLayout}).
 *
 * @example
 * ```ts ignore
 * import { readDataset } from "./read_dataset.ts";
 * const ds = await readDataset("/data/mvtec_ad", { classes: ["bottle"] });
 * console.log(ds.layout, ds.classes);
 * ```
 */
export async function readDataset(root: string, options: ReadOptions = {}): Promise<Dataset> {
  const layout = await detectLayout(root);
  switch (layout) {
    case "visa":
      return await readVisaDataset(root, options);
    case "real-iad":
      return await readRealIadDataset(root, options);
    case "mvtec":
      return await readMvtecDataset(root, options);
    case "manta":
      return await readMantaDataset(root, options);
    case "union":
      return await readUnionDataset(root, readDataset, options);
  }
}
