/**
 * Loading images and masks into plain typed arrays with sharp, ImageNet normalisation, and PNG
 * encoding for visualisation. Images are HWC RGB Float32Array; masks are HW Uint8Array of 0/1.
 * @module
 */

import { extname } from "@std/path";
import sharp from "sharp";
import { decodeBmp, isBmp, readBmpSize } from "./bmp.ts";
import { DatasetError } from "./errors.ts";

/** ImageNet channel means (RGB), the normalisation every pretrained backbone expects. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** How an image or mask is brought to network size. */
export interface LoadOptions {
  /** Side of the square the image is first resized to (aspect ratio is not kept). */
  resize: number;
  /** Side of the centre crop taken after resizing; defaults to `resize` (no crop). */
  crop?: number;
}

/** Width and height of an image file. */
export interface ImageSize {
  width: number;
  height: number;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DatasetError("image file does not exist", path, { cause: e });
    }
    throw new DatasetError(`cannot read image file (${errorMessage(e)})`, path, { cause: e });
  }
}

async function readFileHead(path: string, bytes: number): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DatasetError("image file does not exist", path, { cause: e });
    }
    throw new DatasetError(`cannot open image file (${errorMessage(e)})`, path, { cause: e });
  }
  try {
    const head = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) {
      const n = await file.read(head.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return head.subarray(0, filled);
  } finally {
    file.close();
  }
}

type Raw = { data: Uint8Array; width: number; height: number; channels: number };

/**
 * Decodes `path` through the sharp pipeline `build` adds to, into raw 8-bit pixels.
 * sharp reads the file itself so the whole decode runs off the JS thread in one job. libvips
 * cannot read BMP: those (by extension, or by signature after sharp failed) are decoded here
 * and handed to sharp as raw pixels.
 */
async function decodeRaw(path: string, build: (image: sharp.Sharp) => sharp.Sharp): Promise<Raw> {
  if (extname(path).toLowerCase() !== ".bmp") {
    try {
      return await toRaw(build(sharp(path)));
    } catch (e) {
      const head = await readFileHead(path, 2); // throws if the file is missing
      if (!isBmp(head)) {
        throw new DatasetError(`unreadable or corrupt image (${errorMessage(e)})`, path, {
          cause: e,
        });
      }
    }
  }
  const bytes = await readFileBytes(path);
  let bmp;
  try {
    bmp = decodeBmp(bytes);
  } catch (e) {
    throw new DatasetError(`corrupt or unsupported BMP (${errorMessage(e)})`, path, { cause: e });
  }
  const raw = { width: bmp.width, height: bmp.height, channels: 3 } as const;
  try {
    return await toRaw(build(sharp(bmp.data, { raw })));
  } catch (e) {
    throw new DatasetError(`cannot process image (${errorMessage(e)})`, path, { cause: e });
  }
}

async function toRaw(pipeline: sharp.Sharp): Promise<Raw> {
  const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({
    resolveWithObject: true,
  });
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { data: bytes, width: info.width, height: info.height, channels: info.channels };
}

/**
 * Reads width and height from the file header only (cheap: no pixel decoding).
 * Throws a {@link DatasetError} naming the file if it is missing or not a readable image.
 * A file truncated after its header passes here and fails in {@link loadImage}.
 */
export async function readImageSize(path: string): Promise<ImageSize> {
  const head = await readFileHead(path, 128);
  if (isBmp(head)) {
    try {
      return readBmpSize(head);
    } catch (e) {
      throw new DatasetError(`corrupt or unsupported BMP (${errorMessage(e)})`, path, { cause: e });
    }
  }
  let metadata;
  try {
    metadata = await sharp(path).metadata();
  } catch (e) {
    throw new DatasetError(`unreadable or corrupt image (${errorMessage(e)})`, path, { cause: e });
  }
  if (!metadata.width || !metadata.height) {
    throw new DatasetError("image has no width or height", path);
  }
  return { width: metadata.width, height: metadata.height };
}

function resolveSizes(options: LoadOptions, path: string): { resize: number; crop: number } {
  const resize = options.resize;
  const crop = options.crop ?? resize;
  if (!Number.isInteger(resize) || resize <= 0 || !Number.isInteger(crop) || crop <= 0) {
    throw new RangeError(
      `resize and crop must be positive integers, got ${resize}/${crop} (${path})`,
    );
  }
  if (crop > resize) {
    throw new RangeError(`crop ${crop} is larger than resize ${resize} (${path})`);
  }
  return { resize, crop };
}

/** Offset of a centre crop of `crop` pixels in `size` pixels (rounded down when odd). */
function centreOffset(size: number, crop: number): number {
  return Math.floor((size - crop) / 2);
}

/**
 * Loads an image as RGB float values in [0, 1], HWC layout, `crop * crop * 3` long.
 * Grayscale is replicated to three channels and alpha is dropped. The image is resized to a
 * `resize` square (bilinear, antialiased when shrinking) and then centre-cropped to `crop`.
 * Throws a {@link DatasetError} naming the file when it cannot be decoded.
 *
 * @example
 * ```ts ignore
 * import { loadImage, normalizeImageNet } from "./image.ts";
 * const pixels = await loadImage("carpet/test/cut/000.png", { resize: 256, crop: 224 });
 * const input = normalizeImageNet(pixels); // ready for a pretrained backbone
 * ```
 */
export async function loadImage(path: string, options: LoadOptions): Promise<Float32Array> {
  const { resize, crop } = resolveSizes(options, path);
  const raw = await decodeRaw(
    path,
    (image) => image.removeAlpha().resize(resize, resize, { fit: "fill", kernel: "linear" }),
  );
  const channels = raw.channels;
  if (channels !== 1 && channels !== 3) {
    throw new DatasetError(`unexpected channel count ${channels} after decoding`, path);
  }
  const offset = centreOffset(resize, crop);
  const out = new Float32Array(crop * crop * 3);
  const scale = 1 / 255;
  let o = 0;
  for (let y = 0; y < crop; y++) {
    let p = ((y + offset) * resize + offset) * channels;
    for (let x = 0; x < crop; x++, p += channels, o += 3) {
      if (channels === 3) {
        out[o] = raw.data[p] * scale;
        out[o + 1] = raw.data[p + 1] * scale;
        out[o + 2] = raw.data[p + 2] * scale;
      } else {
        const v = raw.data[p] * scale;
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
      }
    }
  }
  return out;
}

/**
 * Loads a ground-truth mask as `crop * crop` bytes of 0/1, following the same resize and centre
 * crop as {@link loadImage} (nearest neighbour, so no new values appear). A pixel is anomalous
 * when its value is above half the range (> 127 of 255; 16-bit masks are scaled to 8 bits
 * first); colour masks use the brightest channel. `undefined` gives an all-zero mask (a normal
 * image). `size` is the resize side, or the same options as {@link loadImage}.
 *
 * A mask whose non-zero values are all at most 127 is rejected with a {@link DatasetError}:
 * it is a label-index mask (1, 2, ... per region), which thresholding would silently erase.
 */
export async function loadMask(
  path: string | undefined,
  size: number | LoadOptions,
): Promise<Uint8Array> {
  const options = typeof size === "number" ? { resize: size } : size;
  const { resize, crop } = resolveSizes(options, path ?? "mask");
  if (path === undefined) return new Uint8Array(crop * crop);
  const raw = await decodeRaw(path, (image) => image.removeAlpha());
  const gray = brightestChannel(raw.data, raw.width * raw.height, raw.channels);
  let max = 0;
  for (let i = 0; i < gray.length; i++) if (gray[i] > max) max = gray[i];
  if (max > 0 && max <= 127) {
    throw new DatasetError(
      `mask values go up to ${max} only: it looks like a 0/1 or label-index mask; ` +
        "save masks as 0 (normal) / 255 (anomalous)",
      path,
    );
  }
  const offset = centreOffset(resize, crop);
  const out = new Uint8Array(crop * crop);
  for (let y = 0; y < crop; y++) {
    const sy = nearestSource(y + offset, resize, raw.height);
    for (let x = 0; x < crop; x++) {
      const sx = nearestSource(x + offset, resize, raw.width);
      out[y * crop + x] = gray[sy * raw.width + sx] > 127 ? 1 : 0;
    }
  }
  return out;
}

/** Nearest source index for pixel `i` of `size` pixels resampled from `source` (pixel centres). */
function nearestSource(i: number, size: number, source: number): number {
  return Math.min(source - 1, Math.floor(((i + 0.5) * source) / size));
}

function brightestChannel(data: Uint8Array, pixels: number, channels: number): Uint8Array {
  if (channels === 1) return data;
  const out = new Uint8Array(pixels);
  for (let i = 0, p = 0; i < pixels; i++, p += channels) {
    let v = data[p];
    for (let c = 1; c < channels; c++) if (data[p + c] > v) v = data[p + c];
    out[i] = v;
  }
  return out;
}

function checkRgbLength(image: Float32Array): void {
  if (image.length % 3 !== 0) {
    throw new RangeError(`expected an HWC RGB array (length a multiple of 3), got ${image.length}`);
  }
}

/**
 * ImageNet normalisation `(x - mean) / std` per RGB channel of an HWC (or NHWC) array with
 * values in [0, 1]. Writes into `out` (a new array by default; pass `image` for in place).
 */
export function normalizeImageNet(
  image: Float32Array,
  out: Float32Array = new Float32Array(image.length),
): Float32Array {
  checkRgbLength(image);
  const [m0, m1, m2] = IMAGENET_MEAN;
  const r0 = 1 / IMAGENET_STD[0], r1 = 1 / IMAGENET_STD[1], r2 = 1 / IMAGENET_STD[2];
  const n = image.length;
  for (let i = 0; i < n; i += 3) {
    out[i] = (image[i] - m0) * r0;
    out[i + 1] = (image[i + 1] - m1) * r1;
    out[i + 2] = (image[i + 2] - m2) * r2;
  }
  return out;
}

/**
 * Undoes {@link normalizeImageNet} and clamps to [0, 1] (for display). Writes into `out`
 * (a new array by default).
 */
export function denormalize(
  image: Float32Array,
  out: Float32Array = new Float32Array(image.length),
): Float32Array {
  checkRgbLength(image);
  for (let i = 0; i < image.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = image[i + c] * IMAGENET_STD[c] + IMAGENET_MEAN[c];
      out[i + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  return out;
}

/**
 * Encodes HWC pixels as PNG bytes. Float arrays are read as [0, 1] (clamped, rounded to 8 bits);
 * Uint8Array as 0..255. `shape` is `[h, w]` (grayscale) or `[h, w, c]` with c = 1, 3 or 4.
 *
 * @example
 * ```ts
 * import { encodePng } from "./image.ts";
 * const png = await encodePng(new Float32Array(8 * 8 * 3).fill(0.5), [8, 8, 3]);
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await Deno.writeFile(path, png);
 * await Deno.remove(path);
 * ```
 */
export async function encodePng(
  data: Float32Array | Uint8Array,
  shape: readonly [number, number] | readonly [number, number, number],
): Promise<Uint8Array> {
  const [height, width] = shape;
  const channels = shape.length === 3 ? shape[2] : 1;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`encodePng: channels must be 1, 3 or 4, got ${channels}`);
  }
  if (data.length !== height * width * channels) {
    throw new RangeError(
      `encodePng: ${data.length} values do not match shape [${height}, ${width}, ${channels}]`,
    );
  }
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) {
    bytes = data;
  } else {
    bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      // NaN maps to 0 so a broken map shows up black instead of crashing the encoder.
      bytes[i] = v > 0 ? (v >= 1 ? 255 : Math.round(v * 255)) : 0;
    }
  }
  let pipeline = sharp(bytes, { raw: { width, height, channels } });
  // sharp writes single-channel raw input as RGB unless told the colour space.
  if (channels === 1) pipeline = pipeline.toColourspace("b-w");
  const png = await pipeline.png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
