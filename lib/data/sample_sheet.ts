/**
 * A dataset at a glance: one PNG with a column per class and a row per (split, defect) — e.g.
 * normal training images, scratches, foreign-class patches — each anomaly's ground-truth
 * contour drawn in red. For notebooks and reports.
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import type { Dataset, SampleRecord, Split } from "./types.ts";

/** A row of the sheet: the first image of each class with this split and defect. */
export interface SheetRow {
  split: Split;
  defect: string;
}

/** Options of {@linkcode sampleSheet}. */
export interface SampleSheetOptions {
  /** Rows (default: normal training images only). */
  rows?: readonly SheetRow[];
  /** Columns (default: every class of the dataset). */
  classes?: readonly string[];
  /** Tile side in pixels (default 96). */
  tile?: number;
  /**
   * `png` (default, lossless) or `jpeg` (quality 85): noisy textures make a PNG of many tiles
   * large, which matters for notebooks committed with their outputs.
   */
  format?: "png" | "jpeg";
}

const GAP = 4;
const LABEL_WIDTH = 150;
const HEADER = 22;

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

async function tileOf(record: SampleRecord, tile: number): Promise<Buffer> {
  const image = await sharp(record.imagePath).removeAlpha()
    .resize(tile, tile, { kernel: "cubic", fit: "fill" }).raw().toBuffer();
  if (record.maskPath) {
    const mask = await sharp(record.maskPath).extractChannel(0)
      .resize(tile, tile, { kernel: "nearest", fit: "fill" }).raw().toBuffer();
    const inside = (i: number) => mask[i] > 127;
    for (let y = 1; y < tile - 1; y++) {
      for (let x = 1; x < tile - 1; x++) {
        const i = y * tile + x;
        const edge = inside(i) &&
          !(inside(i - 1) && inside(i + 1) && inside(i - tile) && inside(i + tile));
        if (edge) image.set([255, 40, 40], 3 * i);
      }
    }
  }
  return image;
}

/**
 * Renders the sheet (PNG, or JPEG with `format: "jpeg"`). A class without an image for a row leaves that tile blank (and says so in
 * the row label); a row no class has is an error naming it, since it is probably misspelt.
 *
 * @example
 * ```ts ignore
 * import { readDataset, sampleSheet } from "../../mod.ts";
 * const ds = await readDataset(".cache/synth-64-seed0");
 * const png = await sampleSheet(ds, {
 *   rows: [{ split: "train", defect: "good" }, { split: "test", defect: "scratch" }],
 * });
 * await Deno.writeFile("sheet.png", png);
 * ```
 */
export async function sampleSheet(
  dataset: Dataset,
  options: SampleSheetOptions = {},
): Promise<Uint8Array> {
  const rows = options.rows ?? [{ split: "train", defect: "good" }];
  const classes = options.classes ?? dataset.classes;
  const tile = options.tile ?? 96;
  const layers: sharp.OverlayOptions[] = [];
  const labels: string[] = [];
  const width = LABEL_WIDTH + classes.length * (tile + GAP);
  const height = HEADER + rows.length * (tile + GAP);
  for (const [r, row] of rows.entries()) {
    const found = classes.map((c) =>
      dataset.records.find((x) =>
        x.className === c && x.split === row.split && x.defect === row.defect
      )
    );
    if (found.every((x) => x === undefined)) {
      throw new RangeError(
        `sampleSheet: no class of ${dataset.name} has ${row.split} images of defect "${row.defect}"`,
      );
    }
    const top = HEADER + r * (tile + GAP);
    for (const [c, record] of found.entries()) {
      if (!record) continue;
      layers.push({
        input: await tileOf(record, tile),
        raw: { width: tile, height: tile, channels: 3 },
        left: LABEL_WIDTH + c * (tile + GAP),
        top,
      });
    }
    labels.push(
      `<text x="4" y="${top + tile / 2}" font-size="13">${
        escapeXml(`${row.split}: ${row.defect}`)
      }</text>`,
    );
  }
  const header = classes.map((c, i) =>
    `<text x="${LABEL_WIDTH + i * (tile + GAP) + tile / 2}" y="15" font-size="13" ` +
    `text-anchor="middle">${escapeXml(c)}</text>`
  ).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="DejaVu Sans, sans-serif">${header}${labels.join("")}</svg>`;
  layers.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const sheet = sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
    .composite(layers);
  const bytes = options.format === "jpeg"
    ? await sheet.jpeg({ quality: 85 }).toBuffer()
    : await sheet.png().toBuffer();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
