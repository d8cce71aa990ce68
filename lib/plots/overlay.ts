/**
 * Anomaly overlays with sharp: for each image a row of image | anomaly map (perceptual colour
 * map) | ground-truth contour | thresholded prediction, labelled, one PNG grid per class.
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import * as vega from "vega";

/** A perceptual colour map vega knows (`viridis`, `inferno`, `magma`, `plasma`, ...). */
export type ColorMapName = "viridis" | "inferno" | "magma" | "plasma" | "turbo";

/**
 * A 256-entry RGB lookup table of a vega colour scheme.
 *
 * @example
 * ```ts
 * import { colorMapLut } from "./overlay.ts";
 * const lut = colorMapLut("inferno"); // 768 bytes, dark to bright
 * ```
 */
export function colorMapLut(name: ColorMapName): Uint8Array {
  const interpolate = vega.scheme(name) as ((t: number) => string) | undefined;
  if (typeof interpolate !== "function") throw new RangeError(`unknown colour map "${name}"`);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = parseColor(interpolate(i / 255));
    lut.set([r, g, b], i * 3);
  }
  return lut;
}

function parseColor(color: string): [number, number, number] {
  const hex = color.match(/^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const rgb = color.match(/rgb\((\d+),\s*(\d+),\s*(\d+)\)/);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  throw new Error(`cannot parse colour ${color}`);
}

/** Colours a map (row-major, `width * height`) into RGB with `lut` over [lo, hi]. */
export function colorize(
  map: ArrayLike<number>,
  lut: Uint8Array,
  lo: number,
  hi: number,
): Uint8Array {
  const rgb = new Uint8Array(map.length * 3);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < map.length; i++) {
    const t = Math.min(255, Math.max(0, Math.round(((map[i] - lo) / span) * 255)));
    rgb[i * 3] = lut[t * 3];
    rgb[i * 3 + 1] = lut[t * 3 + 1];
    rgb[i * 3 + 2] = lut[t * 3 + 2];
  }
  return rgb;
}

/** Pixels on the inside border of a binary mask (4-neighbourhood), `side * side`. */
export function maskContour(mask: ArrayLike<number>, side: number): Uint8Array {
  const edge = new Uint8Array(side * side);
  const inside = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < side && y < side && mask[y * side + x] > 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (!inside(x, y)) continue;
      if (!inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1)) {
        edge[y * side + x] = 1;
      }
    }
  }
  return edge;
}

/** One row of an overlay grid. */
export interface OverlayItem {
  /** The image file (any format sharp reads). */
  imagePath: string;
  /** Anomaly map, `mapSize * mapSize`, row-major. */
  map: Float32Array;
  /** Ground truth, 0/1, `mapSize * mapSize`; all zero for normal images. */
  mask: Uint8Array;
  /** Row label, e.g. `scratch  score 0.31`. */
  label: string;
}

/** Options of {@linkcode overlayGrid}. */
export interface OverlayOptions {
  /** Side of the maps and masks in pixels. */
  mapSize: number;
  /** Pixel threshold of the prediction column. */
  threshold: number;
  /** Colour range of the maps (default: min and max over the items). */
  range?: [number, number];
  /** Tile side in the PNG (default 128). */
  tile?: number;
  colorMap?: ColorMapName;
  title?: string;
  /** Items side by side per row (default 1), e.g. the images of one defect type. */
  groups?: number;
}

const CONTOUR: [number, number, number] = [255, 40, 40];
const PREDICTED: [number, number, number] = [40, 220, 90];

async function rawTile(rgb: Uint8Array, side: number, tile: number, smooth: boolean) {
  return await sharp(rgb, { raw: { width: side, height: side, channels: 3 } })
    .resize(tile, tile, { kernel: smooth ? "cubic" : "nearest" })
    .raw()
    .toBuffer();
}

function paint(rgb: Uint8Array, where: Uint8Array, color: [number, number, number], alpha = 1) {
  for (let i = 0; i < where.length; i++) {
    if (!where[i]) continue;
    for (let c = 0; c < 3; c++) {
      rgb[i * 3 + c] = Math.round(rgb[i * 3 + c] * (1 - alpha) + color[c] * alpha);
    }
  }
}

function upsampleBinary(mask: ArrayLike<number>, side: number, tile: number): Uint8Array {
  const out = new Uint8Array(tile * tile);
  for (let y = 0; y < tile; y++) {
    const sy = Math.min(side - 1, Math.floor((y * side) / tile));
    for (let x = 0; x < tile; x++) {
      out[y * tile + x] = mask[sy * side + Math.min(side - 1, Math.floor((x * side) / tile))] > 0
        ? 1
        : 0;
    }
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  );
}

/**
 * One PNG: a header, then per item image | anomaly map | ground truth | prediction (> threshold),
 * with the contour of the ground truth in red and predicted pixels in green.
 *
 * @example
 * ```ts ignore
 * const png = await overlayGrid(items, { mapSize: 64, threshold: 0.3, title: "pill" });
 * await Deno.writeFile("pill.png", png);
 * ```
 */
export async function overlayGrid(
  items: readonly OverlayItem[],
  options: OverlayOptions,
): Promise<Uint8Array> {
  if (items.length === 0) throw new RangeError("overlayGrid: no images");
  const side = options.mapSize;
  for (const [i, item] of items.entries()) {
    if (item.map.length !== side * side || item.mask.length !== side * side) {
      throw new RangeError(
        `overlayGrid: item ${i} (${item.imagePath}) has a map of ${item.map.length} and a mask ` +
          `of ${item.mask.length} values, expected ${side}x${side}`,
      );
    }
  }
  const tile = options.tile ?? 128;
  const groups = Math.max(1, Math.floor(options.groups ?? 1));
  const gap = 6;
  const labelWidth = 120;
  const groupWidth = labelWidth + 4 * (tile + gap) + 10;
  const header = options.title ? 66 : 34;
  const lut = colorMapLut(options.colorMap ?? "inferno");
  let [lo, hi] = options.range ?? [Infinity, -Infinity];
  if (!options.range) {
    for (const { map } of items) {
      for (const v of map) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  const rows = Math.ceil(items.length / groups);
  const width = groups * groupWidth;
  const height = header + rows * (tile + gap);
  const layers: sharp.OverlayOptions[] = [];
  const labels: string[] = [];
  for (const [n, item] of items.entries()) {
    const row = Math.floor(n / groups);
    const left = (n % groups) * groupWidth;
    const image = new Uint8Array(
      await sharp(item.imagePath).removeAlpha().resize(tile, tile, { kernel: "cubic" }).raw()
        .toBuffer(),
    );
    const contour = maskContour(upsampleBinary(item.mask, side, tile), tile);
    const mapTile = new Uint8Array(
      await rawTile(colorize(item.map, lut, lo, hi), side, tile, true),
    );
    const truth = image.slice();
    paint(truth, contour, CONTOUR);
    const predicted = image.slice();
    const above = upsampleBinary(item.map.map((v) => (v > options.threshold ? 1 : 0)), side, tile);
    paint(predicted, above, PREDICTED, 0.55);
    paint(predicted, contour, CONTOUR);
    const top = header + row * (tile + gap);
    for (const [col, rgb] of [image, mapTile, truth, predicted].entries()) {
      layers.push({
        input: Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength),
        raw: { width: tile, height: tile, channels: 3 },
        left: left + labelWidth + col * (tile + gap),
        top,
      });
    }
    labels.push(
      item.label.split("\n").map((line, k) =>
        `<text x="${left + 6}" y="${top + tile / 2 + k * 17}" font-size="13">${
          escapeXml(line)
        }</text>`
      ).join(""),
    );
  }
  const columns = [
    "image",
    "anomaly map",
    "ground truth",
    `map > ${options.threshold.toPrecision(3)}`,
  ];
  const text = [
    options.title
      ? `<text x="6" y="22" font-size="17" font-weight="bold">${escapeXml(options.title)}</text>`
      : "",
    `<text x="6" y="${options.title ? 42 : 14}" font-size="11">` +
    `map colours: ${escapeXml(options.colorMap ?? "inferno")} over [${lo.toPrecision(3)}, ` +
    `${hi.toPrecision(3)}]; red: ground-truth contour; green: map above the threshold</text>`,
    ...Array.from(
      { length: groups },
      (_, g) =>
        columns.map((c, i) =>
          `<text x="${g * groupWidth + labelWidth + i * (tile + gap) + tile / 2}" y="${
            header - 8
          }" ` +
          `font-size="13" text-anchor="middle">${escapeXml(c)}</text>`
        ).join(""),
    ),
    ...labels,
  ].join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="DejaVu Sans, sans-serif">${text}</svg>`;
  layers.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const png = await sharp({
    create: { width, height, channels: 3, background: "#ffffff" },
  }).composite(layers).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * The pixel threshold that maximises F1 over `maps` against `masks` (what the prediction
 * column shows), searched over `steps` quantiles of the map values.
 */
export function f1Threshold(
  maps: readonly Float32Array[],
  masks: readonly Uint8Array[],
  steps = 64,
): number {
  const values: number[] = [];
  for (const map of maps) for (let i = 0; i < map.length; i += 7) values.push(map[i]);
  values.sort((a, b) => a - b);
  let best = values[values.length - 1];
  let bestF1 = -1;
  for (let s = 1; s < steps; s++) {
    const t = values[Math.floor((s / steps) * (values.length - 1))];
    let tp = 0;
    let fp = 0;
    let fn = 0;
    maps.forEach((map, m) => {
      const mask = masks[m];
      for (let i = 0; i < map.length; i++) {
        const p = map[i] > t;
        if (p && mask[i]) tp++;
        else if (p) fp++;
        else if (mask[i]) fn++;
      }
    });
    const f1 = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    if (f1 > bestF1) {
      bestF1 = f1;
      best = t;
    }
  }
  return best;
}
