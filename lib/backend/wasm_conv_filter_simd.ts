/**
 * A direct `Conv2DBackpropFilter` for the `wasm` backend: one SIMD function of our own (written
 * by `wasm_module_builder.ts`) that accumulates
 *
 * dW[kh, kw, ci, co] += X[n, iy, ix, ci] * dY[n, oy, ox, co]
 *
 * straight from the NHWC tensors on the backend heap, with no transposed copy of X or dY and
 * no packed filter. Routing the gradient through the stock `Conv2D` (the fallback in
 * `wasm_conv_backprop_filter.ts`) makes dY the conv's filter, and the backend transposes and
 * packs every new filter (8 MB for 8x64²x64 maps): a fifth of the kernel's time.
 *
 * The function is called once per (band of output rows, kh, kw) with the rectangle of output
 * pixels in the band whose input pixel is inside X (valid rows and columns are contiguous
 * ranges); a band is some rows of one image, or several whole small images, as much as fits
 * in the first-level cache. Inside, 4 input channels x 8 output channels of dW stay in eight
 * f32x4 registers while the whole rectangle is summed, so each step loads two vectors of dY
 * and splats four floats of X for eight multiplies and eight adds, and dW is read and written
 * once per call.
 *
 * Channel counts that are not whole blocks (DRAEM's and DMAD's full-resolution layers with 1-7
 * channels) are zero-padded in copies of X and dY, and the padded rows and columns of dW
 * dropped. When dY has few channels (1-3) the roles swap to pad less: dY is splatted (blocks of
 * 4) and X loaded as vectors (blocks of 8), and dW comes out transposed per tap.
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { boundHeapModule } from "./wasm_heap_module.ts";
import { buildModule, I32, op, uleb, V128 } from "./wasm_module_builder.ts";

/** Input channels per register block (the splatted X values). */
export const CI_BLOCK = 4;
/** Output channels per register block (two f32x4 of dY). */
export const CO_BLOCK = 8;

type RunFunction = (
  xRow: number,
  xStep: number,
  dyRow: number,
  dyStep: number,
  count: number,
  dwTap: number,
  ci: number,
  co: number,
  rows: number,
  xRowStep: number,
  dyRowStep: number,
  images: number,
  xImageStep: number,
  dyImageStep: number,
) => void;

// SIMD and integer instructions beyond the builder's set, with explicit memory offsets.
const memarg = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];
const v128LoadAt = (offset: number) => [0xfd, 0x00, ...memarg(0, offset)];
const v128StoreAt = (offset: number) => [0xfd, 0x0b, ...memarg(0, offset)];
const load32SplatAt = (offset: number) => [0xfd, 0x09, ...memarg(0, offset)];
const i32Mul = [0x6c], i32GeS = [0x4e], i32Eqz = [0x45];
const get = op.localGet, set = op.localSet;

// Parameters, then locals.
const XROW = 0, XSTEP = 1, DYROW = 2, DYSTEP = 3, COUNT = 4, DWTAP = 5, CI = 6, CO = 7;
const ROWS = 8, XROWSTEP = 9, DYROWSTEP = 10, IMAGES = 11, XIMAGESTEP = 12, DYIMAGESTEP = 13;
const CB = 14, OB = 15, XP = 16, YP = 17, K = 18, DWP = 19, ROWBYTES = 20, XR = 21, YR = 22;
const R = 23, XI = 24, YI = 25, IM = 26;
const ACC = 27; // eight v128 accumulators: ACC + 2*r (+1) for channel row r, halves 0 and 1
const B0 = 35, B1 = 36, A = 37;

/** `local = local + value` for i32 locals. */
const addTo = (local: number, value: number[]) => [
  ...get(local),
  ...value,
  ...op.i32Add,
  ...set(local),
];

function runBody(): number[] {
  const accumulate: number[] = [];
  for (let r = 0; r < CI_BLOCK; r++) {
    accumulate.push(...get(XP), ...load32SplatAt(4 * r), ...set(A));
    for (const half of [0, 1]) {
      accumulate.push(
        ...get(ACC + 2 * r + half),
        ...get(A),
        ...get(half === 0 ? B0 : B1),
        ...op.f32x4Mul,
        ...op.f32x4Add,
        ...set(ACC + 2 * r + half),
      );
    }
  }
  // dW block row r lives at dwp + r * rowBytes; its two halves 16 bytes apart.
  const rowAddress = (r: number) => [
    ...get(DWP),
    ...get(ROWBYTES),
    ...op.i32Const(r),
    ...i32Mul,
    ...op.i32Add,
  ];
  const loadBlock: number[] = [];
  const storeBlock: number[] = [];
  for (let r = 0; r < CI_BLOCK; r++) {
    for (const half of [0, 1]) {
      loadBlock.push(...rowAddress(r), ...v128LoadAt(16 * half), ...set(ACC + 2 * r + half));
      storeBlock.push(...rowAddress(r), ...get(ACC + 2 * r + half), ...v128StoreAt(16 * half));
    }
  }
  return [
    // rowBytes = co * 4
    ...get(CO),
    ...op.i32Const(4),
    ...i32Mul,
    ...set(ROWBYTES),
    ...op.i32Const(0),
    ...set(CB),
    ...op.block,
    ...op.loop, // over input channel blocks
    ...get(CB),
    ...get(CI),
    ...i32GeS,
    ...op.brIf(1),
    ...op.i32Const(0),
    ...set(OB),
    ...op.block,
    ...op.loop, // over output channel blocks
    ...get(OB),
    ...get(CO),
    ...i32GeS,
    ...op.brIf(1),
    // dwp = dwTap + (cb * co + ob) * 4
    ...get(DWTAP),
    ...get(CB),
    ...get(ROWBYTES),
    ...i32Mul,
    ...op.i32Add,
    ...get(OB),
    ...op.i32Const(4),
    ...i32Mul,
    ...op.i32Add,
    ...set(DWP),
    ...loadBlock,
    // xi = xRow + cb * 4; yi = dyRow + ob * 4; im = images
    ...get(XROW),
    ...get(CB),
    ...op.i32Const(4),
    ...i32Mul,
    ...op.i32Add,
    ...set(XI),
    ...get(DYROW),
    ...get(OB),
    ...op.i32Const(4),
    ...i32Mul,
    ...op.i32Add,
    ...set(YI),
    ...get(IMAGES),
    ...set(IM),
    ...op.block,
    ...op.loop, // over images
    ...get(IM),
    ...i32Eqz,
    ...op.brIf(1),
    ...get(XI),
    ...set(XR),
    ...get(YI),
    ...set(YR),
    ...get(ROWS),
    ...set(R),
    ...op.block,
    ...op.loop, // over rows
    ...get(R),
    ...i32Eqz,
    ...op.brIf(1),
    ...get(XR),
    ...set(XP),
    ...get(YR),
    ...set(YP),
    ...get(COUNT),
    ...set(K),
    ...op.block,
    ...op.loop, // over the run of output columns
    ...get(K),
    ...i32Eqz,
    ...op.brIf(1),
    ...get(YP),
    ...v128LoadAt(0),
    ...set(B0),
    ...get(YP),
    ...v128LoadAt(16),
    ...set(B1),
    ...accumulate,
    ...addTo(XP, get(XSTEP)),
    ...addTo(YP, get(DYSTEP)),
    ...addTo(K, op.i32Const(-1)),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...addTo(XR, get(XROWSTEP)),
    ...addTo(YR, get(DYROWSTEP)),
    ...addTo(R, op.i32Const(-1)),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...addTo(XI, get(XIMAGESTEP)),
    ...addTo(YI, get(DYIMAGESTEP)),
    ...addTo(IM, op.i32Const(-1)),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...storeBlock,
    ...addTo(OB, op.i32Const(CO_BLOCK)),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...addTo(CB, op.i32Const(CI_BLOCK)),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

const instances = new WeakMap<WebAssembly.Memory, RunFunction | null>();

/**
 * The SIMD run function bound to `backend`'s memory, or undefined when the memory is not
 * reachable or the engine lacks SIMD (the caller then takes the `Conv2D` route).
 */
function simdRunFor(backend: BackendWasm): RunFunction | undefined {
  return boundHeapModule(
    backend,
    instances,
    (shared) =>
      buildModule([{
        name: "run",
        params: Array(14).fill(I32),
        locals: [...Array(13).fill(I32), ...Array(11).fill(V128)],
        body: runBody(),
      }], { shared }),
    (exports) => exports.run as RunFunction,
  );
}

/** Geometry of one filter gradient, as `tf.backend_util.computeConv2DInfo` gives it. */
export interface FilterGradGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** Bytes of dY and X rows one call may sweep (half a typical 48 KiB L1 data cache). */
const L1_BUDGET_BYTES = 24 * 1024;

const roundUp = (v: number, block: number) => Math.ceil(v / block) * block;

/** Copies [pixels, from] values into [pixels, to] (to >= from), zeros in the new channels. */
function padChannels(src: Float32Array, dst: Float32Array, from: number, to: number): void {
  const pixels = src.length / from;
  for (let p = 0; p < pixels; p++) {
    const s = p * from, d = p * to;
    for (let c = 0; c < from; c++) dst[d + c] = src[s + c];
    for (let c = from; c < to; c++) dst[d + c] = 0;
  }
}

/** Copies the leading [rows, ci, co] corner of [rows, ciPadded, coPadded] values. */
function cropChannels(
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  [ciPadded, coPadded]: [number, number],
  [ci, co]: [number, number],
): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < ci; c++) {
      const s = (r * ciPadded + c) * coPadded, d = (r * ci + c) * co;
      dst.set(src.subarray(s, s + co), d);
    }
  }
}

/** First and one-past-last output index whose input index `o*stride + tap - pad` is in range. */
function validRange(
  tap: number,
  stride: number,
  pad: number,
  inSize: number,
  outSize: number,
): [number, number] {
  const first = Math.max(0, Math.ceil((pad - tap) / stride));
  const last = Math.min(outSize - 1, Math.floor((inSize - 1 + pad - tap) / stride));
  return [first, last + 1];
}

/**
 * Computes the filter gradient [kh, kw, ci, co] of x [n, h, w, ci] and dy [n, oh, ow, co] on the
 * heap, or returns undefined when the SIMD function is unavailable. Channel counts that do not
 * fill whole register blocks are zero-padded in copies of x and dy (zero channels add nothing;
 * their rows and columns of dW are dropped). The caller owns the result.
 *
 * @example
 * ```ts ignore
 * const dw = conv2dBackpropFilterSimd(backend, x, dy, geometry) ?? viaConv2D();
 * ```
 */
export function conv2dBackpropFilterSimd(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: FilterGradGeometry,
): tf.TensorInfo | undefined {
  const run = simdRunFor(backend);
  if (run === undefined) return undefined;
  const ci = g.inChannels, co = g.outChannels;
  // Splat dY and load X as vectors instead when that pads less (dY with 1-3 channels).
  const swapped = roundUp(co, CI_BLOCK) * roundUp(ci, CO_BLOCK) <
    roundUp(ci, CI_BLOCK) * roundUp(co, CO_BLOCK);
  const ciPadded = roundUp(ci, swapped ? CO_BLOCK : CI_BLOCK);
  const coPadded = roundUp(co, swapped ? CI_BLOCK : CO_BLOCK);
  const taps = g.filterHeight * g.filterWidth;
  // Every allocation before any view or pointer: allocating may grow (and so move) the heap.
  const xs = ciPadded === ci
    ? x
    : backend.makeOutput([g.batchSize, g.inHeight, g.inWidth, ciPadded], "float32");
  const dys = coPadded === co
    ? dy
    : backend.makeOutput([g.batchSize, g.outHeight, g.outWidth, coPadded], "float32");
  // [taps, splatted channels, vector channels]
  const out = backend.makeOutput(
    [g.filterHeight, g.filterWidth, ...(swapped ? [coPadded, ciPadded] : [ciPadded, coPadded])],
    "float32",
  );
  const result = xs === x && dys === dy && !swapped
    ? out
    : backend.makeOutput([g.filterHeight, g.filterWidth, ci, co], "float32");
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  let done = false;
  try {
    if (xs !== x) padChannels(view(x), view(xs), ci, ciPadded);
    if (dys !== dy) padChannels(view(dy), view(dys), co, coPadded);
    view(out).fill(0);
    accumulate(run, backend, xs, dys, out, g, [ciPadded, coPadded], swapped);
    if (swapped) {
      transposeCrop(view(out), view(result), taps, [coPadded, ciPadded], [ci, co]);
    } else if (result !== out) {
      cropChannels(view(out), view(result), taps, [ciPadded, coPadded], [ci, co]);
    }
    done = true;
  } finally {
    const temporaries = [xs !== x && xs, dys !== dy && dys, result !== out && out, !done && result];
    for (const t of temporaries) if (t) backend.disposeData(t.dataId);
  }
  return result;
}

/** [rows, coPadded, ciPadded] values -> their [rows, ci, co] corner, transposed per row. */
function transposeCrop(
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  [coPadded, ciPadded]: [number, number],
  [ci, co]: [number, number],
): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < ci; c++) {
      for (let o = 0; o < co; o++) {
        dst[(r * ci + c) * co + o] = src[(r * coPadded + o) * ciPadded + c];
      }
    }
  }
}

/**
 * Adds the gradient of x and dy (channels padded to whole blocks) into `out`, as
 * [taps, ci, co] with X splatted, or as [taps, co, ci] with dY splatted when `swapped`.
 */
function accumulate(
  run: RunFunction,
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  g: FilterGradGeometry,
  [ci, co]: [number, number],
  swapped: boolean,
): void {
  const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
  const xBase = at(x), dyBase = at(dy), dwBase = at(out);
  const xStep = g.strideWidth * ci * 4, dyStep = co * 4;
  const xRowStep = g.strideHeight * g.inWidth * ci * 4, dyRowStep = g.outWidth * co * 4;
  const rows = Array.from(
    { length: g.filterHeight },
    (_, kh) => validRange(kh, g.strideHeight, g.padTop, g.inHeight, g.outHeight),
  );
  const columns = Array.from(
    { length: g.filterWidth },
    (_, kw) => validRange(kw, g.strideWidth, g.padLeft, g.inWidth, g.outWidth),
  );
  // Each call sweeps a band of rows of one image, or whole images when they are small, sized
  // so that its dY and X stay in the first-level cache while every channel block passes.
  const bytesPerRow = g.outWidth * (co + g.strideWidth * ci) * 4;
  const band = Math.max(1, Math.min(g.outHeight, Math.floor(L1_BUDGET_BYTES / bytesPerRow)));
  const imagesPerCall = band < g.outHeight
    ? 1
    : Math.max(1, Math.floor(L1_BUDGET_BYTES / (g.outHeight * bytesPerRow)));
  const xImageStep = g.inHeight * g.inWidth * ci * 4;
  const dyImageStep = g.outHeight * g.outWidth * co * 4;
  for (let n = 0; n < g.batchSize; n += imagesPerCall) {
    const images = Math.min(imagesPerCall, g.batchSize - n);
    for (let band0 = 0; band0 < g.outHeight; band0 += band) {
      for (let kh = 0; kh < g.filterHeight; kh++) {
        const oy0 = Math.max(rows[kh][0], band0);
        const oyEnd = Math.min(rows[kh][1], band0 + band);
        if (oyEnd <= oy0) continue;
        const iy0 = oy0 * g.strideHeight + kh - g.padTop;
        for (let kw = 0; kw < g.filterWidth; kw++) {
          const [ox0, oxEnd] = columns[kw];
          if (oxEnd <= ox0) continue;
          const ix0 = ox0 * g.strideWidth + kw - g.padLeft;
          const xAt = xBase + ((n * g.inHeight + iy0) * g.inWidth + ix0) * ci * 4;
          const dyAt = dyBase + ((n * g.outHeight + oy0) * g.outWidth + ox0) * co * 4;
          const dwTap = dwBase + (kh * g.filterWidth + kw) * ci * co * 4;
          if (swapped) {
            run(
              dyAt,
              dyStep,
              xAt,
              xStep,
              oxEnd - ox0,
              dwTap,
              co,
              ci,
              oyEnd - oy0,
              dyRowStep,
              xRowStep,
              images,
              dyImageStep,
              xImageStep,
            );
          } else {
            run(
              xAt,
              xStep,
              dyAt,
              dyStep,
              oxEnd - ox0,
              dwTap,
              ci,
              co,
              oyEnd - oy0,
              xRowStep,
              dyRowStep,
              images,
              xImageStep,
              dyImageStep,
            );
          }
        }
      }
    }
  }
}
