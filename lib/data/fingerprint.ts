/**
 * A dataset's fingerprint: its classes, how many files it has and a hash of the file list, so a
 * result can say exactly which data it was made on and an evaluation can tell when the data on
 * disk is no longer the data a model was trained and tested on.
 * @module
 */
import { relative } from "@std/path";
import type { Dataset, SampleRecord, Split } from "./types.ts";

/** The files of one split: their number and a hash of their list. */
export interface SplitFingerprint {
  images: number;
  masks: number;
  /** SHA-256 (hex, first 16 digits) of the sorted lines `class, defect, label, image, mask`. */
  hash: string;
}

/** What identifies a dataset's content (paths are taken relative to its root). */
export interface DatasetFingerprint {
  classes: string[];
  /** Images plus masks. */
  files: number;
  /** Hash over both splits' hashes. */
  hash: string;
  train: SplitFingerprint;
  test: SplitFingerprint;
}

/** One record as a line of the hashed list: paths relative to the dataset root. */
export function recordLine(record: SampleRecord, root: string): string {
  const mask = record.maskPath === undefined ? "" : relative(root, record.maskPath);
  return [
    record.className,
    record.defect,
    record.label,
    relative(root, record.imagePath),
    mask,
  ].join("\t");
}

/** The sorted record lines of one split (see {@linkcode recordLine}). */
export function splitLines(dataset: Dataset, split: Split): string[] {
  return dataset.records.filter((r) => r.split === split)
    .map((r) => recordLine(r, dataset.root))
    .sort();
}

/**
 * The fingerprint of `dataset`. Moving the dataset folder does not change it; adding, removing
 * or renaming an image or mask, or changing a label or class, does.
 *
 * @example
 * ```ts
 * import { datasetFingerprint } from "./fingerprint.ts";
 * const record = { className: "a", split: "train", defect: "good", label: 0 } as const;
 * const fp = await datasetFingerprint({
 *   name: "d", root: "/d", layout: "folder", classes: ["a"],
 *   records: [{ ...record, imagePath: "/d/1.png" }, { ...record, imagePath: "/d/2.png", split: "test" }],
 * });
 * if (fp.files !== 2 || fp.hash.length !== 16) throw new Error("fingerprint");
 * ```
 */
export async function datasetFingerprint(dataset: Dataset): Promise<DatasetFingerprint> {
  const train = await splitFingerprint(dataset, "train");
  const test = await splitFingerprint(dataset, "test");
  return {
    classes: [...dataset.classes],
    files: train.images + train.masks + test.images + test.masks,
    hash: await sha256Hex(`${dataset.classes.join(",")}\n${train.hash}\n${test.hash}`),
    train,
    test,
  };
}

async function splitFingerprint(dataset: Dataset, split: Split): Promise<SplitFingerprint> {
  const records = dataset.records.filter((r) => r.split === split);
  return {
    images: records.length,
    masks: records.filter((r) => r.maskPath !== undefined).length,
    hash: await sha256Hex(splitLines(dataset, split).join("\n")),
  };
}

/** The first 16 hex digits of the SHA-256 of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}
