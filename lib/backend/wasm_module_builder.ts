/**
 * A minimal WebAssembly binary writer for our own SIMD kernels: one module of functions that
 * import TF.js's `wasm` backend memory and work straight on its heap. Only the instructions
 * the kernels use are named here.
 * @module
 */

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

/** Opcodes used by our kernels (SIMD ones after the 0xfd prefix, as LEB128). */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Add: [0x6a],
  i32GeU: [0x4f],
  /** v128.load / v128.store with no alignment promise and offset 0. */
  v128Load: [0xfd, 0x00, 0x00, 0x00],
  v128Store: [0xfd, 0x0b, 0x00, 0x00],
  f32x4Splat: [0xfd, 0x13],
  f32x4Sqrt: [0xfd, 0xe3, 0x01],
  f32x4Add: [0xfd, 0xe4, 0x01],
  f32x4Sub: [0xfd, 0xe5, 0x01],
  f32x4Mul: [0xfd, 0xe6, 0x01],
  f32x4Div: [0xfd, 0xe7, 0x01],
} as const;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  while (true) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/** One exported function: its parameters, extra locals (type per local) and body. */
export interface FunctionSpec {
  name: string;
  params: number[];
  locals: number[];
  body: number[];
}

/** How the imported memory is declared: a shared one needs its maximum. */
export interface MemoryImport {
  shared: boolean;
  /** Maximum pages (required when shared). */
  maximum?: number;
}

/**
 * The bytes of a module importing `env.memory` and exporting `functions` (no results).
 *
 * @example
 * ```ts
 * import { buildModule, F32, op } from "./wasm_module_builder.ts";
 * const bytes = buildModule([{ name: "nop", params: [F32], locals: [], body: [] }], {
 *   shared: false,
 * });
 * if (!WebAssembly.validate(bytes)) throw new Error("invalid module");
 * void op;
 * ```
 */
export function buildModule(
  functions: FunctionSpec[],
  memory: MemoryImport,
): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((p) => [p])), 0x00]);
  const limits = memory.shared
    ? [0x03, ...uleb(1), ...uleb(memory.maximum ?? 65536)]
    : [0x00, ...uleb(1)];
  const imports = vector([[...name("env"), ...name("memory"), 0x02, ...limits]]);
  const funcs = vector(functions.map((_, i) => uleb(i)));
  const exports = vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const codes = vector(functions.map((f) => {
    const locals = vector(f.locals.map((t) => [...uleb(1), t]));
    const body = [...locals, ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  }));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codes),
  ]);
}
