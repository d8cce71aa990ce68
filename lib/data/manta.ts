/**
 * Reader for MANTA (Fan et al., "MANTA: A Large-Scale Multi-View and Visual-Text Anomaly
 * Detection Dataset for Tiny Objects"; 38 classes in five domains). Its release (and the
 * MANTA-Tiny subset) nests MVTec-layout class folders one level deeper, under their domain:
 *
 * ```
 * root/<domain>/<class>/train/good/*.png
 * root/<domain>/<class>/test/<defect>/*.png              "good" is normal
 * root/<domain>/<class>/ground_truth/<defect>/<stem>.png  (or <stem>_mask.png)
 * ```
 *
 * with domains `agriculture`, `electronics`, `groceries`, `mechanics`, `medicine`. Each image
 * is one object seen from five views side by side (a 5:1 montage, 256 px high in MANTA-Tiny);
 * the reader keeps the montage as one image, as single-view methods see it. Class names are
 * the class folder names (`maize`, `gear`, ...); two domains holding a class of the same name is
 * an error rather than a silent merge. Every check of the MVTec reader applies per domain.
 * @module
 */

import { basename, join, resolve } from "@std/path";
import { DatasetError } from "./errors.ts";
import { buildDataset, listSubdirectories, type ReadOptions, selectClasses } from "./listing.ts";
import { inspectMvtecRoot, readMvtecDataset } from "./mvtec.ts";
import type { Dataset, SampleRecord } from "./types.ts";
import { validateDataset } from "./validate.ts";

/** The five domains of the MANTA release, in its folder names. */
export const MANTA_DOMAINS: readonly string[] = [
  "agriculture",
  "electronics",
  "groceries",
  "mechanics",
  "medicine",
];

/** A domain folder of a MANTA root and the class folders in it. */
export interface MantaDomain {
  domain: string;
  classes: string[];
}

/**
 * The domain folders of `root` that hold MVTec-layout classes, sorted. Used by layout detection:
 * a root is MANTA when some sub-folder is itself an MVTec-layout root.
 */
export async function listMantaDomains(root: string): Promise<MantaDomain[]> {
  const domains: MantaDomain[] = [];
  for (const name of await listSubdirectories(root)) {
    const listing = await inspectMvtecRoot(join(root, name));
    if (listing.classes.length > 0 || listing.broken.length > 0) {
      domains.push({ domain: name, classes: listing.classes });
    }
  }
  return domains;
}

/**
 * Reads a MANTA (or MANTA-Tiny) dataset: every domain folder's classes as one dataset.
 *
 * Errors ({@link DatasetError}, naming the file or folder): no domain folder with classes, a
 * class name found in two domains, a requested class that does not exist, and everything the
 * MVTec reader reports for a class (missing masks, stray files, empty splits, unreadable images).
 *
 * @example
 * ```ts ignore
 * import { readMantaDataset } from "./manta.ts";
 * const ds = await readMantaDataset("/data/MANTA-Tiny", { classes: ["maize", "gear"] });
 * console.log(ds.layout, ds.classes); // "manta" ["gear", "maize"]
 * ```
 */
export async function readMantaDataset(root: string, options: ReadOptions = {}): Promise<Dataset> {
  root = resolve(root);
  const domains = await listMantaDomains(root);
  if (domains.length === 0) {
    throw new DatasetError(
      `no MANTA domain folders (${MANTA_DOMAINS.join(", ")}) holding ` +
        "<class>/train/good class folders",
      root,
    );
  }
  const domainOf = new Map<string, string>();
  for (const { domain, classes } of domains) {
    for (const className of classes) {
      const other = domainOf.get(className);
      if (other !== undefined) {
        throw new DatasetError(
          `class "${className}" is in two domains (${other} and ${domain}); class names must ` +
            "be unique across domains",
          join(root, domain, className),
        );
      }
      domainOf.set(className, domain);
    }
  }
  const wanted = selectClasses([...domainOf.keys()].sort(), options.classes, root);
  const records: SampleRecord[] = [];
  for (const { domain, classes } of domains) {
    const chosen = classes.filter((c) => wanted.includes(c));
    if (chosen.length === 0 && options.classes !== undefined) continue;
    const part = await readMvtecDataset(join(root, domain), {
      // All classes: the MVTec reader then also reports class folders it cannot read.
      classes: options.classes === undefined ? undefined : chosen,
      validate: false,
      note: options.note,
    });
    records.push(...part.records);
  }
  const dataset = buildDataset({
    name: options.name ?? basename(root),
    root,
    layout: "manta",
    records,
  });
  if (options.validate !== false) await validateDataset(dataset);
  return dataset;
}
