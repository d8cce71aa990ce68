/**
 * The SIMD body of the fused Adam kernel: a WebAssembly function of our own (written by
 * `wasm_module_builder.ts`) that imports the `wasm` backend's memory and updates four
 * float32 values per instruction, in the same operation order as the scalar version, so the
 * results are bit-identical to it (every f32x4 operation is correctly rounded).
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { buildModule, F32, I32, op, V128 } from "./wasm_module_builder.ts";
import { boundHeapModule } from "./wasm_heap_module.ts";

/** Byte offsets (into the backend heap) of the inputs and outputs of one update. */
export interface AdamPointers {
  x: number;
  m: number;
  v: number;
  g: number;
  outX: number;
  outM: number;
  outV: number;
}

/** The float32 scalars, already rounded, and the two mode flags. */
export interface AdamScalars {
  b1: number;
  b2: number;
  c1: number;
  c2: number;
  bc1: number;
  bc2: number;
  eps: number;
  negLr: number;
  wd: number;
  shrink: number;
  l2: boolean;
  decay: boolean;
}

type AdamFunction = (...args: number[]) => void;

// Parameter and local indices of the function below.
const P = { x: 0, m: 1, v: 2, g: 3, ox: 4, om: 5, ov: 6, bytes: 7, scalars: 8, l2: 18, decay: 19 };
const I = 20; // byte offset
const VEC = 21; // ten splatted scalars, in AdamScalars order b1..shrink
const XI = 31, GI = 32, MI = 33, VI = 34;
const vec = (k: number) => op.localGet(VEC + k);
const at = (ptr: number) => [...op.localGet(ptr), ...op.localGet(I), ...op.i32Add];
const load = (ptr: number) => [...at(ptr), ...op.v128Load];

function adamBody(): number[] {
  const body: number[] = [];
  for (let k = 0; k < 10; k++) {
    body.push(...op.localGet(P.scalars + k), ...op.f32x4Splat, ...op.localSet(VEC + k));
  }
  const [B1, B2, C1, C2, BC1, BC2, EPS, NEGLR, WD, SHRINK] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  body.push(
    ...op.block,
    ...op.loop,
    ...op.localGet(I),
    ...op.localGet(P.bytes),
    ...op.i32GeU,
    ...op.brIf(1),
    ...load(P.x),
    ...op.localSet(XI),
    ...load(P.g),
    ...op.localSet(GI),
    // g += wd * x (Adam's L2 penalty)
    ...op.localGet(P.l2),
    ...op.if,
    ...op.localGet(GI),
    ...op.localGet(XI),
    ...vec(WD),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.localSet(GI),
    ...op.end,
    // x *= 1 - lr * wd (AdamW's decoupled decay)
    ...op.localGet(P.decay),
    ...op.if,
    ...op.localGet(XI),
    ...vec(SHRINK),
    ...op.f32x4Mul,
    ...op.localSet(XI),
    ...op.end,
    // m' = m * b1 + g * c1
    ...load(P.m),
    ...vec(B1),
    ...op.f32x4Mul,
    ...op.localGet(GI),
    ...vec(C1),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.localSet(MI),
    // v' = v * b2 + (g * g) * c2
    ...load(P.v),
    ...vec(B2),
    ...op.f32x4Mul,
    ...op.localGet(GI),
    ...op.localGet(GI),
    ...op.f32x4Mul,
    ...vec(C2),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.localSet(VI),
    // x' = ((m' / bc1) / (sqrt(v' / bc2) + eps)) * -lr + x
    ...at(P.ox),
    ...op.localGet(MI),
    ...vec(BC1),
    ...op.f32x4Div,
    ...op.localGet(VI),
    ...vec(BC2),
    ...op.f32x4Div,
    ...op.f32x4Sqrt,
    ...vec(EPS),
    ...op.f32x4Add,
    ...op.f32x4Div,
    ...vec(NEGLR),
    ...op.f32x4Mul,
    ...op.localGet(XI),
    ...op.f32x4Add,
    ...op.v128Store,
    ...at(P.om),
    ...op.localGet(MI),
    ...op.v128Store,
    ...at(P.ov),
    ...op.localGet(VI),
    ...op.v128Store,
    ...op.localGet(I),
    ...op.i32Const(16),
    ...op.i32Add,
    ...op.localSet(I),
    ...op.br(0),
    ...op.end,
    ...op.end,
  );
  return body;
}

const instances = new WeakMap<WebAssembly.Memory, AdamFunction | null>();

/**
 * The SIMD Adam function bound to `backend`'s memory, or undefined when the memory is not
 * reachable or the engine lacks SIMD (the caller then uses the scalar loop).
 */
export function simdAdamFor(backend: BackendWasm): AdamFunction | undefined {
  return boundHeapModule(
    backend,
    instances,
    (shared) =>
      buildModule([{
        name: "adam",
        params: [...Array(8).fill(I32), ...Array(10).fill(F32), I32, I32],
        locals: [I32, ...Array(14).fill(V128)],
        body: adamBody(),
      }], { shared }),
    (exports) => exports.adam as AdamFunction,
  );
}

/** Runs the SIMD update on the first `count` values (a multiple of 4). */
export function runSimdAdam(
  fn: AdamFunction,
  p: AdamPointers,
  count: number,
  s: AdamScalars,
): void {
  fn(
    p.x,
    p.m,
    p.v,
    p.g,
    p.outX,
    p.outM,
    p.outV,
    count * 4,
    s.b1,
    s.b2,
    s.c1,
    s.c2,
    s.bc1,
    s.bc2,
    s.eps,
    s.negLr,
    s.wd,
    s.shrink,
    s.l2 ? 1 : 0,
    s.decay ? 1 : 0,
  );
}
