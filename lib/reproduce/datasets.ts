/**
 * The real datasets of the paper as presets: what each is, which reader reads it, where it comes
 * from and under which licence, and the `--data mvtec=/path,visa=/path` syntax that names their
 * roots on this machine. Nothing is downloaded: the data must already be on disk.
 * @module
 */
import type { DatasetLayout } from "../data/read_dataset.ts";

/** The datasets a table can be reproduced on. */
export const DATASET_KEYS = ["mvtec", "visa", "btad", "realiad", "manta"] as const;

/** One of {@linkcode DATASET_KEYS}. */
export type DatasetKey = typeof DATASET_KEYS[number];

/** Everything a user needs to know to obtain and point at a dataset. */
export interface DatasetPreset {
  key: DatasetKey;
  /** As the paper's tables name it. */
  title: string;
  /** Classes in the full dataset. */
  classes: number;
  /** The layout `readDataset` detects for its root. */
  layout: DatasetLayout;
  /** Where it is published (no download code here: fetch it yourself). */
  source: string;
  /** Its licence, as stated by the publisher, or what is unknown about it. */
  licence: string;
  /** Approximate download size. */
  size: string;
  /** What the root folder must look like. */
  root: string;
}

/** The five real datasets. */
export const DATASET_PRESETS: Readonly<Record<DatasetKey, DatasetPreset>> = {
  mvtec: {
    key: "mvtec",
    title: "MVTec AD",
    classes: 15,
    layout: "mvtec",
    source: "https://www.mvtec.com/company/research/datasets/mvtec-ad",
    licence: "CC BY-NC-SA 4.0 (non-commercial; see its readme.txt)",
    size: "about 5 GB",
    root:
      "the extracted folder holding bottle/, cable/, ... (each with train/good, test/, ground_truth/)",
  },
  visa: {
    key: "visa",
    title: "VisA",
    classes: 12,
    layout: "visa",
    source: "https://github.com/amazon-science/spot-diff (VisA_20220922.tar)",
    licence: "CC BY 4.0 (LICENSE-DATASET of amazon-science/spot-diff)",
    size: "about 2 GB",
    root: "the extracted folder with candle/, ..., and split_csv/1cls.csv",
  },
  btad: {
    key: "btad",
    title: "BTAD",
    classes: 3,
    layout: "mvtec",
    source: "http://avires.dimi.uniud.it/papers/btad/btad.zip (Mishra et al., VT-ADL, ISIE 2021)",
    licence: "no licence text is published with the archive: ask its authors before redistributing",
    size: "about 1.1 GB",
    root: "the extracted BTech_Dataset_transformed/ holding 01/, 02/, 03/ (train/ok, test/ok|ko)",
  },
  realiad: {
    key: "realiad",
    title: "Real-IAD",
    classes: 30,
    layout: "real-iad",
    source: "https://realiad4ad.github.io/Real-IAD/ (access on request)",
    licence: "research use under the terms granted with access (see its project page)",
    size: "about 110 GB at 1024 px (realiad_1024)",
    root: "the folder holding realiad_1024/ and realiad_jsons/",
  },
  manta: {
    key: "manta",
    title: "MANTA",
    classes: 38,
    layout: "manta",
    source:
      'the MANTA release (Fan et al., 2025, "MANTA: A Large-Scale Multi-View and Visual-Text Anomaly Detection Dataset for Tiny Objects"), or its MANTA-Tiny subset',
    licence: "as stated on its release page (not checked here)",
    size: "MANTA-Tiny about 152k views at 256 px (38 classes x 800 objects x 5 views)",
    root:
      "the folder holding agriculture/, electronics/, groceries/, mechanics/, medicine/ (each class in MVTec layout)",
  },
};

/** Unions of datasets the paper trains one model on. */
export const UNION_TARGETS = {
  /** MVTec AD + VisA + BTAD + Real-IAD, 60 classes (the paper's "All-in-all"). */
  "all-in-all": ["mvtec", "visa", "btad", "realiad"],
  /** MVTec AD + VisA + BTAD, 30 classes (the paper's Table 4, "mixed"). */
  mixed: ["mvtec", "visa", "btad"],
} as const satisfies Record<string, readonly DatasetKey[]>;

/** A union in {@linkcode UNION_TARGETS}. */
export type UnionKey = keyof typeof UNION_TARGETS;

/** The roots given for some datasets. */
export type DataRoots = Partial<Record<DatasetKey, string>>;

/**
 * Parses `mvtec=/data/mvtec,visa=/data/visa` into roots. Unknown names, a name given twice and
 * an empty path are errors naming the entry.
 *
 * @example
 * ```ts
 * import { parseDataRoots } from "./datasets.ts";
 * const roots = parseDataRoots("mvtec=/data/mvtec_ad, btad=/data/btad");
 * if (roots.mvtec !== "/data/mvtec_ad" || roots.btad !== "/data/btad") throw new Error();
 * ```
 */
export function parseDataRoots(text: string): DataRoots {
  const roots: DataRoots = {};
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    const key = (eq < 0 ? entry : entry.slice(0, eq)).trim();
    const path = eq < 0 ? "" : entry.slice(eq + 1).trim();
    if (!(DATASET_KEYS as readonly string[]).includes(key)) {
      throw new Error(
        `--data: unknown dataset "${key}" in "${entry}" (known: ${DATASET_KEYS.join(", ")})`,
      );
    }
    if (path === "") throw new Error(`--data: "${entry}" gives no path (write ${key}=/path)`);
    if (roots[key as DatasetKey] !== undefined) {
      throw new Error(`--data: "${key}" is given twice`);
    }
    roots[key as DatasetKey] = path;
  }
  return roots;
}
