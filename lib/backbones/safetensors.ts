/**
 * A reader and writer for the safetensors format (the one PyTorch and timm checkpoints ship
 * in), in plain TypeScript: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}, "__metadata__"?: {...}}`, then the raw little-endian
 * tensor bytes. Floating-point tensors (F64, F32, F16, BF16) are read as Float32Array.
 * @module
 */
import { writeFileAtomic } from "../util/atomic_write.ts";

/** The element types a safetensors header may name. */
export type SafetensorsDtype =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The floating-point types {@linkcode tensorToFloat32} converts. */
export const FLOAT_DTYPES: readonly SafetensorsDtype[] = ["F64", "F32", "F16", "BF16"];

/** One tensor of a parsed file: its header entry and a view of its raw bytes. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes (a view into the file, not a copy). */
  bytes: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Where the bytes came from (a path, or a description); used in error messages. */
  source: string;
  /** The `__metadata__` string map (empty if absent). */
  metadata: Record<string, string>;
  /** Tensors by name, in header order. */
  tensors: Map<string, SafetensorsEntry>;
}

/** A float tensor to write: its shape and row-major values. */
export interface FloatTensorData {
  shape: readonly number[];
  data: Float32Array;
}

/** An int64 tensor to write (e.g. BatchNorm's `num_batches_tracked`). */
export interface Int64TensorData {
  shape: readonly number[];
  data: BigInt64Array;
}

/** Options of {@linkcode encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** How float tensors are stored (default F32). F16 halves the size; values beyond ±65504 fail. */
  dtype?: "F32" | "F16" | "BF16";
  /** Strings stored under `__metadata__`. */
  metadata?: Record<string, string>;
}

const HEADER_LIMIT = 100_000_000;

/**
 * Parses safetensors bytes. Throws an error naming `source` when the header is malformed, the
 * file is truncated, or an entry's offsets or byte count do not match its dtype and shape.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, parseSafetensors, tensorToFloat32 } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, 2]) } });
 * const file = parseSafetensors(bytes, "example");
 * const w = tensorToFloat32(file.tensors.get("w")!, file.source); // Float32Array [1, 2]
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, source = "<bytes>"): SafetensorsFile {
  const fail = (what: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes; the 8-byte header length is missing`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > HEADER_LIMIT) fail(`header length ${headerLength} is implausibly large`);
  if (8 + headerLength > bytes.length) {
    fail(`truncated: header needs ${headerLength} bytes but only ${bytes.length - 8} follow`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    ));
  } catch (error) {
    fail(`bad header: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("bad header: the JSON header is not an object");
  }
  const data = bytes.subarray(8 + headerLength);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      Object.assign(metadata, parseMetadata(value, fail));
      continue;
    }
    tensors.set(name, parseEntry(name, value, data, fail));
  }
  return { source, metadata, tensors };
}

function parseMetadata(value: unknown, fail: (what: string) => never): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("bad header: __metadata__ is not an object");
  }
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== "string") fail(`bad header: __metadata__.${key} is not a string`);
    result[key] = item as string;
  }
  return result;
}

function parseEntry(
  name: string,
  value: unknown,
  data: Uint8Array,
  fail: (what: string) => never,
): SafetensorsEntry {
  if (typeof value !== "object" || value === null) fail(`bad header: "${name}" is not an object`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
    fail(`bad header: "${name}" has unsupported dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(`bad header: "${name}" has shape ${JSON.stringify(shape)}, not a list of sizes`);
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o) && o >= 0)
  ) {
    fail(`bad header: "${name}" has data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) fail(`"${name}" has data_offsets [${begin}, ${end}] that run backwards`);
  if (end > data.length) {
    fail(
      `"${name}" has data_offsets [${begin}, ${end}] out of range: the data section holds ` +
        `${data.length} bytes (truncated file?)`,
    );
  }
  const sizes = shape as number[];
  const expected = sizes.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (end - begin !== expected) {
    fail(
      `"${name}" (${dtype} [${sizes.join(", ")}]) needs ${expected} bytes but its ` +
        `data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: sizes, bytes: data.subarray(begin, end) };
}

/**
 * The values of a floating-point tensor (F64, F32, F16 or BF16) as Float32Array.
 * Integer tensors are an error naming the tensor and `source`.
 */
export function tensorToFloat32(entry: SafetensorsEntry, source = "<bytes>"): Float32Array {
  const count = entry.bytes.length / DTYPE_BYTES[entry.dtype];
  const view = new DataView(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
  const out = new Float32Array(count);
  switch (entry.dtype) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case "F64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case "F16":
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    case "BF16": {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    default:
      throw new Error(
        `${source}: tensor "${entry.name}" is ${entry.dtype}, expected a float type ` +
          `(${FLOAT_DTYPES.join(", ")})`,
      );
  }
}

/**
 * Encodes tensors as safetensors bytes: float tensors as `options.dtype` (default F32),
 * BigInt64Array tensors as I64. Tensor names are written in the given order.
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors(
 *   { "conv1.weight": { shape: [1, 1, 1, 1], data: new Float32Array([0.5]) } },
 *   { dtype: "F16", metadata: { format: "pt" } },
 * );
 * ```
 */
export function encodeSafetensors(
  tensors:
    | Record<string, FloatTensorData | Int64TensorData>
    | Map<
      string,
      FloatTensorData | Int64TensorData
    >,
  options: EncodeSafetensorsOptions = {},
): Uint8Array<ArrayBuffer> {
  const floatDtype = options.dtype ?? "F32";
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of entries) {
    if (name === "__metadata__") throw new Error(`"__metadata__" cannot be a tensor name`);
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length) {
      throw new Error(
        `tensor "${name}": shape [${tensor.shape.join(", ")}] holds ${count} values but ` +
          `${tensor.data.length} were given`,
      );
    }
    const isInt = tensor.data instanceof BigInt64Array;
    const dtype = isInt ? "I64" : floatDtype;
    const bytes = isInt
      ? encodeInt64(tensor.data as BigInt64Array)
      : encodeFloat(name, tensor.data as Float32Array, floatDtype);
    header[name] = {
      dtype,
      shape: [...tensor.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function encodeInt64(data: BigInt64Array): Uint8Array {
  const out = new Uint8Array(data.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setBigInt64(8 * i, data[i], true);
  return out;
}

function encodeFloat(name: string, data: Float32Array, dtype: "F32" | "F16" | "BF16"): Uint8Array {
  const bytesPer = dtype === "F32" ? 4 : 2;
  const out = new Uint8Array(data.length * bytesPer);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (dtype === "F32") {
      view.setFloat32(4 * i, value, true);
    } else if (dtype === "F16") {
      if (Math.abs(value) > 65504) {
        throw new Error(`tensor "${name}": value ${value} at index ${i} does not fit in F16`);
      }
      view.setUint16(2 * i, floatToHalf(value), true);
    } else {
      view.setUint16(2 * i, floatToBfloat16(value), true);
    }
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE half-precision bits -> number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** number -> IEEE half-precision bits, rounding to nearest even (overflow gives infinity). */
export function floatToHalf(value: number): number {
  scratch.setFloat32(0, value);
  const x = scratch.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the implicit-one mantissa right, rounding to nearest even.
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (rest > half || (rest === half && (result & 1))) result++;
    return sign | result;
  }
  let result = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1))) result++;
  return sign | result;
}

/** number -> bfloat16 bits, rounding to nearest even. */
export function floatToBfloat16(value: number): number {
  scratch.setFloat32(0, value);
  const x = scratch.getUint32(0);
  if (Number.isNaN(value)) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Reads and parses a safetensors file (a path or a `file:`/`http(s):` URL). */
export async function readSafetensorsFile(path: string | URL): Promise<SafetensorsFile> {
  const source = path instanceof URL && path.protocol === "file:"
    ? decodeURIComponent(path.pathname)
    : String(path);
  let bytes: Uint8Array;
  try {
    bytes = path instanceof URL && path.protocol !== "file:"
      ? new Uint8Array(await (await fetchOk(path)).arrayBuffer())
      : await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read safetensors file ${source}: ${reason}`);
  }
  return parseSafetensors(bytes, source);
}

async function fetchOk(url: URL): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response;
}

/** Encodes tensors (see {@linkcode encodeSafetensors}) and writes them to `path` atomically. */
export async function writeSafetensorsFile(
  path: string,
  tensors:
    | Record<string, FloatTensorData | Int64TensorData>
    | Map<
      string,
      FloatTensorData | Int64TensorData
    >,
  options: EncodeSafetensorsOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, options));
}
