/**
 * A small decoder for uncompressed Windows BMP files. BTAD ships BMP images and the prebuilt
 * sharp (libvips) cannot read BMP, so the loaders decode it here and hand sharp raw pixels.
 * Supported: 1/4/8-bit palette, 16/32-bit (plain or bit-field masks), 24-bit; bottom-up or
 * top-down rows. RLE-compressed files are rejected with a clear error.
 * @module
 */

/** Decoded BMP pixels: RGB, 8 bits per channel, rows top to bottom. */
export interface BmpImage {
  width: number;
  height: number;
  /** width * height * 3 bytes. */
  data: Uint8Array;
}

/** Whether the bytes start with the BMP signature "BM". */
export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
  paletteOffset: number;
  paletteEntrySize: number;
  paletteSize: number;
  masks: [number, number, number];
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function parseHeader(bytes: Uint8Array): BmpHeader {
  if (!isBmp(bytes) || bytes.length < 26) throw new Error("not a BMP file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize === 12) {
    const bitsPerPixel = view.getUint16(24, true);
    return {
      width: view.getUint16(18, true),
      height: view.getUint16(20, true),
      topDown: false,
      bitsPerPixel,
      compression: BI_RGB,
      pixelOffset,
      paletteOffset: 26,
      paletteEntrySize: 3,
      paletteSize: bitsPerPixel <= 8 ? 1 << bitsPerPixel : 0,
      masks: [0, 0, 0],
    };
  }
  if (headerSize < 40 || bytes.length < 54) {
    throw new Error(`unsupported BMP header size ${headerSize}`);
  }
  const rawHeight = view.getInt32(22, true);
  const bitsPerPixel = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const colorsUsed = view.getUint32(46, true);
  const hasFieldMasks = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  // With the 40-byte header the bit-field masks follow it; in later headers they are inside it.
  const extraMasks = hasFieldMasks && headerSize === 40
    ? (compression === BI_BITFIELDS ? 12 : 16)
    : 0;
  let masks: [number, number, number];
  if (hasFieldMasks) {
    masks = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
  } else if (bitsPerPixel === 16) {
    masks = [0x7c00, 0x03e0, 0x001f];
  } else {
    masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  }
  return {
    width: view.getInt32(18, true),
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel,
    compression,
    pixelOffset,
    paletteOffset: 14 + headerSize + extraMasks,
    paletteEntrySize: 4,
    paletteSize: bitsPerPixel <= 8 ? (colorsUsed || 1 << bitsPerPixel) : 0,
    masks,
  };
}

/** Width and height from the BMP header, without decoding pixels. Throws on a malformed header. */
export function readBmpSize(bytes: Uint8Array): { width: number; height: number } {
  const header = parseHeader(bytes);
  checkHeader(header);
  return { width: header.width, height: header.height };
}

function checkHeader(h: BmpHeader): void {
  if (
    h.compression !== BI_RGB && h.compression !== BI_BITFIELDS &&
    h.compression !== BI_ALPHABITFIELDS
  ) {
    throw new Error(`compressed BMP (compression ${h.compression}) is not supported`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(h.bitsPerPixel)) {
    throw new Error(`unsupported BMP bit depth ${h.bitsPerPixel}`);
  }
  if (h.width <= 0 || h.height <= 0 || h.width > 65535 || h.height > 65535) {
    throw new Error(`invalid BMP size ${h.width}x${h.height}`);
  }
}

/** Converts a channel extracted with a bit mask to 8 bits. */
function maskChannel(value: number, mask: number): number {
  if (mask === 0) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return Math.round((((value & mask) >>> shift) * 255) / max);
}

/**
 * Decodes an uncompressed BMP to 8-bit RGB (any alpha is dropped).
 * Throws an `Error` describing the problem for malformed or unsupported files.
 */
export function decodeBmp(bytes: Uint8Array): BmpImage {
  const h = parseHeader(bytes);
  checkHeader(h);
  const { width, height, bitsPerPixel } = h;
  const stride = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (h.pixelOffset + stride * height > bytes.length) {
    throw new Error(
      `truncated BMP: needs ${h.pixelOffset + stride * height} bytes, has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Uint8Array(width * height * 3);
  const palette = readPalette(bytes, h);
  for (let y = 0; y < height; y++) {
    const row = h.pixelOffset + (h.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bitsPerPixel === 24) {
        const p = row + x * 3;
        data[o] = bytes[p + 2];
        data[o + 1] = bytes[p + 1];
        data[o + 2] = bytes[p];
      } else if (bitsPerPixel === 32 || bitsPerPixel === 16) {
        const value = bitsPerPixel === 32
          ? view.getUint32(row + x * 4, true)
          : view.getUint16(row + x * 2, true);
        data[o] = maskChannel(value, h.masks[0]);
        data[o + 1] = maskChannel(value, h.masks[1]);
        data[o + 2] = maskChannel(value, h.masks[2]);
      } else {
        const bit = x * bitsPerPixel;
        const byte = bytes[row + (bit >> 3)];
        const index = (byte >> (8 - bitsPerPixel - (bit & 7))) & ((1 << bitsPerPixel) - 1);
        if (index >= palette.length / 3) throw new Error(`palette index ${index} out of range`);
        data[o] = palette[index * 3];
        data[o + 1] = palette[index * 3 + 1];
        data[o + 2] = palette[index * 3 + 2];
      }
    }
  }
  return { width, height, data };
}

function readPalette(bytes: Uint8Array, h: BmpHeader): Uint8Array {
  const palette = new Uint8Array(h.paletteSize * 3);
  if (h.paletteOffset + h.paletteSize * h.paletteEntrySize > bytes.length) {
    throw new Error("truncated BMP palette");
  }
  for (let i = 0; i < h.paletteSize; i++) {
    const p = h.paletteOffset + i * h.paletteEntrySize;
    palette[i * 3] = bytes[p + 2];
    palette[i * 3 + 1] = bytes[p + 1];
    palette[i * 3 + 2] = bytes[p];
  }
  return palette;
}
