/**
 * Reader for VisA, whose split is a CSV file (`root/split_csv/1cls.csv`):
 *
 * ```
 * object,split,label,image,mask
 * candle,train,normal,candle/Data/Images/Normal/0000.JPG,
 * candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png
 * ```
 *
 * Paths are relative to `root`. VisA names no defect types, so anomalous records get defect
 * "anomaly" and normal ones "good".
 * @module
 */

import { basename, join, resolve } from "@std/path";
import { DatasetError } from "./errors.ts";
import {
  assertListedFilesExist,
  buildDataset,
  compareStrings,
  type ListedFile,
  type ReadOptions,
  selectClasses,
} from "./listing.ts";
import type { Dataset, SampleRecord, Split } from "./types.ts";
import { validateDataset } from "./validate.ts";

/** Default location of the VisA split file, relative to the dataset root. */
export const VISA_SPLIT_FILE = "split_csv/1cls.csv";

/** Columns the VisA split file must have (any order, extra columns allowed). */
export const VISA_COLUMNS: readonly string[] = ["object", "split", "label", "image", "mask"];

/** Options of {@link readVisaDataset}. */
export interface VisaOptions extends ReadOptions {
  /** Split file relative to the root (default `split_csv/1cls.csv`). */
  splitFile?: string;
  /**
   * Keep anomalous rows of the train split as (label 1) training records, e.g. for a noisy-
   * training study. Default false: such a row is an error, since it would silently become
   * training data of a method that assumes normal images. When true, a note says how many.
   */
  allowTrainAnomalies?: boolean;
}

/**
 * Parses CSV text into rows of fields: commas, double-quoted fields (with `""` escapes),
 * LF or CRLF line ends. Blank lines are dropped.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte-order mark from spreadsheet exports
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0].trim() !== "") rows.push(row);
    row = [];
    field = "";
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n") {
      endRow();
    } else if (ch !== "\r") {
      field += ch;
    }
  }
  if (field !== "" || row.length > 0) endRow();
  return rows;
}

/**
 * Reads VisA from its split CSV.
 *
 * Errors ({@link DatasetError}, naming the file): a missing split file, missing columns, a row
 * with the wrong number of fields or an unknown split/label, a row pointing to a missing
 * image or mask, an anomalous test image without a mask, a class without train or test
 * images, and (when validating) unreadable images and masks whose size differs from their image.
 *
 * @example
 * ```ts ignore
 * import { readVisaDataset } from "./visa.ts";
 * const ds = await readVisaDataset("/data/visa", { classes: ["candle"] });
 * ```
 */
export async function readVisaDataset(root: string, options: VisaOptions = {}): Promise<Dataset> {
  root = resolve(root);
  const csvPath = join(root, options.splitFile ?? VISA_SPLIT_FILE);
  const rows = parseCsv(await readText(csvPath));
  if (rows.length === 0) throw new DatasetError("split file is empty", csvPath);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const missing = VISA_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new DatasetError(
      `split file lacks column(s) ${missing.join(", ")} (header: ${rows[0].join(",")})`,
      csvPath,
    );
  }
  const column = Object.fromEntries(VISA_COLUMNS.map((c) => [c, header.indexOf(c)]));

  const all: { record: SampleRecord; row: number }[] = [];
  for (let r = 1; r < rows.length; r++) {
    const fields = rows[r];
    const where = `row ${r + 1} of ${csvPath}`;
    if (fields.length !== header.length) {
      throw new DatasetError(
        `row ${r + 1} has ${fields.length} fields, header has ${header.length}`,
        csvPath,
      );
    }
    const get = (name: string) => fields[column[name]].trim();
    all.push({ record: rowToRecord(get, root, where, csvPath), row: r + 1 });
  }

  assertSplitsSound(all, csvPath, options);

  const available = [...new Set(all.map((a) => a.record.className))].sort(compareStrings);
  const classes = new Set(selectClasses(available, options.classes, csvPath));
  const chosen = all.filter((a) => classes.has(a.record.className));
  const listed: ListedFile[] = [];
  for (const { record, row } of chosen) {
    const listedAt = `row ${row} of ${csvPath}`;
    listed.push({ path: record.imagePath, listedAt });
    if (record.maskPath !== undefined) listed.push({ path: record.maskPath, listedAt });
  }
  await assertListedFilesExist(listed);

  const dataset = buildDataset({
    name: options.name ?? basename(root),
    root,
    layout: "visa",
    records: chosen.map((a) => a.record),
  });
  if (options.validate !== false) await validateDataset(dataset);
  return dataset;
}

/**
 * An image may be listed once: in both splits it would be trained on and tested on, twice in
 * one split it would be counted twice. An anomalous train row is an error unless allowed.
 */
function assertSplitsSound(
  all: ReadonlyArray<{ record: SampleRecord; row: number }>,
  csvPath: string,
  options: VisaOptions,
): void {
  const firstRow = new Map<string, { row: number; split: Split }>();
  for (const { record, row } of all) {
    const previous = firstRow.get(record.imagePath);
    if (previous !== undefined) {
      const where = previous.split === record.split
        ? `twice in the ${record.split} split`
        : "in both the train and the test split";
      throw new DatasetError(
        `row ${row} of ${csvPath}: image is listed ${where} (first at row ${previous.row})`,
        record.imagePath,
      );
    }
    firstRow.set(record.imagePath, { row, split: record.split });
  }
  const anomalousTrain = all.filter((a) => a.record.split === "train" && a.record.label === 1);
  if (anomalousTrain.length === 0) return;
  if (!options.allowTrainAnomalies) {
    const { row } = anomalousTrain[0];
    throw new DatasetError(
      `row ${row} of ${csvPath}: anomalous image in the train split ` +
        `(${anomalousTrain.length} such row(s)); training images must be normal ` +
        "(readVisaDataset's allowTrainAnomalies keeps them on purpose)",
      csvPath,
    );
  }
  (options.note ?? console.error)(
    `note: ${csvPath}: ${anomalousTrain.length} anomalous image(s) kept in the train split ` +
      "(allowTrainAnomalies)",
  );
}

function rowToRecord(
  get: (name: string) => string,
  root: string,
  where: string,
  csvPath: string,
): SampleRecord {
  const className = get("object");
  const split = get("split").toLowerCase();
  const label = get("label").toLowerCase();
  const image = get("image");
  const mask = get("mask");
  if (className === "") throw new DatasetError(`${where}: empty object (class) field`, csvPath);
  if (split !== "train" && split !== "test") {
    throw new DatasetError(`${where}: split must be train or test, got "${split}"`, csvPath);
  }
  if (label !== "normal" && label !== "anomaly") {
    throw new DatasetError(`${where}: label must be normal or anomaly, got "${label}"`, csvPath);
  }
  if (image === "") throw new DatasetError(`${where}: empty image field`, csvPath);
  const imagePath = join(root, image);
  if (label === "normal") {
    if (mask !== "") {
      throw new DatasetError(`${where}: normal image has a mask (${mask})`, csvPath);
    }
    return { imagePath, className, split: split as Split, defect: "good", label: 0 };
  }
  if (mask === "" && split === "test") {
    throw new DatasetError(`${where}: anomalous test image has no mask`, imagePath);
  }
  return {
    imagePath,
    className,
    split: split as Split,
    defect: "anomaly",
    label: 1,
    ...(mask === "" ? {} : { maskPath: join(root, mask) }),
  };
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DatasetError("split file does not exist", path, { cause: e });
    }
    throw new DatasetError(`cannot read split file (${(e as Error).message})`, path, { cause: e });
  }
}
