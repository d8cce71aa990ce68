/**
 * Copying kernels for TF.js's `wasm` backend (`GatherV2`, `Slice`, `SplitV`, `Concat`, `Pack`)
 * that copy contiguous runs straight on the wasm heap.
 *
 * The stock `Slice` reads its whole input back through `readSync`, which copies it into a fresh
 * JavaScript buffer, before copying out the slice: `SplitV` (a slice per part) copies its input
 * once per part. The stock `GatherV2` computes every output element's source by divisions in a
 * generic loop (about 60 ns per element under load: 4 ms to gather 4096 rows of 64 floats, 60
 * times a multiply of the same size). CCL's local loss gathers the key map's rows by match and
 * negative, and its gradient slices, every step; its pixel matching stacks nine one-channel maps
 * on a new last axis, which the stock `Concat` copies one element (and one subarray view) at a
 * time. Here all of them copy runs of the innermost contiguous elements within the heap
 * (`copyWithin`, no view or buffer per run). The values are copies of the same bits, so results
 * do not change; strings and batched gathers (`batchDims` > 0) go to the stock kernels.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { wrapStockWasmKernel } from "./wasm_kernel_wrap.ts";
// Loaded first so that the stock kernels are registered before we wrap them.
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The whole wasm heap in elements of one width: int32 for 4-byte types (bits kept), bytes for bool. */
type Heap = Int32Array | Uint8Array;

/** Below this many elements a run is copied by a loop rather than `copyWithin`. */
const SHORT_RUN = 8;

/**
 * The heap as elements of `dtype`'s width. Taken after every `makeOutput` of a kernel:
 * allocating may grow (and so detach) the heap.
 */
function heapOf(backend: BackendWasm, dtype: tf.DataType): Heap {
  // The same view TF.js's own readSync reads (its module type does not declare it).
  const bytes = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
  return dtype === "bool" ? bytes : new Int32Array(bytes.buffer, bytes.byteOffset);
}

/** Where `t`'s first element sits in {@linkcode heapOf}'s view for its dtype. */
function startOf(backend: BackendWasm, t: tf.TensorInfo): number {
  const offset = backend.dataIdMap.get(t.dataId)!.memoryOffset;
  return t.dtype === "bool" ? offset : offset / 4;
}

let stockGather: tf.KernelConfig | undefined;
let stockSlice: tf.KernelConfig | undefined;
let stockSplitV: tf.KernelConfig | undefined;
let stockConcat: tf.KernelConfig | undefined;
let stockPack: tf.KernelConfig | undefined;

/** The stock kernel kept at registration (our kernels fall back on it). */
function registered(stock: tf.KernelConfig | undefined, name: string): tf.KernelConfig {
  if (stock === undefined) {
    throw new Error(
      `lib/backend/wasm_gather_slice.ts: call registerWasmGatherSlice() before using ${name}`,
    );
  }
  return stock;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Copies `count` elements within the heap (source and target never overlap). */
function copyRun(heap: Heap, from: number, to: number, count: number): void {
  if (count >= SHORT_RUN) {
    heap.copyWithin(to, from, from + count);
  } else {
    for (let i = 0; i < count; i++) heap[to + i] = heap[from + i];
  }
}

/**
 * The `wasm` `GatherV2` kernel: `x`'s slices along `axis` at `indices`, copied a contiguous run
 * at a time; an index outside [0, size of the axis) throws as the stock kernel does.
 */
export function gatherWasm(
  args: {
    inputs: { x: tf.TensorInfo; indices: tf.TensorInfo };
    backend: BackendWasm;
    attrs: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const stock = registered(stockGather, "GatherV2");
  const { x, indices } = args.inputs;
  const batchDims = (args.attrs.batchDims as number | undefined) ?? 0;
  if (batchDims !== 0 || x.dtype === "string" || indices.dtype !== "int32") {
    return (stock.kernelFunc as (a: typeof args) => tf.TensorInfo)(args);
  }
  const { backend } = args;
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const outer = sizeOf(x.shape.slice(0, axis));
  const dim = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const count = sizeOf(indices.shape);
  const index = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < count; i++) {
    const value = index[i];
    if (!(value >= 0 && value <= dim - 1)) {
      throw new Error(`GatherV2: the index value ${value} is not in [0, ${dim - 1}]`);
    }
  }
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  // Views taken after makeOutput: allocating may grow (and so detach) the heap.
  const heap = heapOf(backend, x.dtype);
  const src = startOf(backend, x);
  const dst = startOf(backend, out);
  const rows = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let o = 0; o < outer; o++) {
    const base = o * dim;
    const target = o * count;
    for (let i = 0; i < count; i++) {
      copyRun(heap, src + (base + rows[i]) * inner, dst + (target + i) * inner, inner);
    }
  }
  return out;
}

/** The `wasm` `Slice` kernel: the slice copied a run of its last axis at a time, no read-back. */
export function sliceWasm(
  args: { inputs: { x: tf.TensorInfo }; backend: BackendWasm; attrs: tf.NamedAttrMap },
): tf.TensorInfo {
  const stock = registered(stockSlice, "Slice");
  const { x } = args.inputs;
  if (x.dtype === "string") return (stock.kernelFunc as (a: typeof args) => tf.TensorInfo)(args);
  const { backend } = args;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as tf.Tensor,
    args.attrs.begin as number | number[],
    args.attrs.size as number | number[] | undefined,
  );
  const out = backend.makeOutput(size, x.dtype);
  const total = sizeOf(size);
  if (total === 0) return out;
  const heap = heapOf(backend, x.dtype);
  const src = startOf(backend, x);
  const dst = startOf(backend, out);
  const rank = x.shape.length;
  if (rank === 0) {
    heap[dst] = heap[src];
    return out;
  }
  const strides = [...tf.util.computeStrides(x.shape), 1];
  const run = size[rank - 1];
  const position = new Array<number>(rank - 1).fill(0);
  for (let written = 0; written < total; written += run) {
    let from = src + begin[rank - 1];
    for (let a = 0; a < rank - 1; a++) from += (begin[a] + position[a]) * strides[a];
    copyRun(heap, from, dst + written, run);
    for (let a = rank - 2; a >= 0; a--) {
      if (++position[a] < size[a]) break;
      position[a] = 0;
    }
  }
  return out;
}

/**
 * The `wasm` `SplitV` kernel: one {@linkcode sliceWasm} per part (the stock kernel calls its own
 * `Slice`, which reads the whole input back once per part).
 */
export function splitVWasm(
  args: { inputs: { x: tf.TensorInfo }; backend: BackendWasm; attrs: tf.NamedAttrMap },
): tf.TensorInfo[] {
  const stock = registered(stockSplitV, "SplitV");
  const { x } = args.inputs;
  if (x.dtype === "string") return (stock.kernelFunc as (a: typeof args) => tf.TensorInfo[])(args);
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.Tensor,
    args.attrs.numOrSizeSplits as number | number[],
    axis,
  );
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((part) => {
    const size = [...x.shape];
    size[axis] = part;
    const piece = sliceWasm({
      inputs: { x },
      backend: args.backend,
      attrs: { begin: [...begin], size },
    });
    begin[axis] += part;
    return piece;
  });
}

/**
 * Concatenates `inputs` (same rank, same dtype, equal shapes off `axis`) along `axis` into a new
 * tensor, copying each input's run per outer index ({@linkcode copyRun}: the stock kernel makes a
 * subarray view per run, which dominates when runs are a few elements long, as when stacking
 * per-offset maps on a new last axis).
 */
function concatRuns(
  backend: BackendWasm,
  inputs: readonly tf.TensorInfo[],
  axis: number,
  outShape: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, inputs[0].dtype);
  if (sizeOf(outShape) === 0) return out;
  const outer = sizeOf(outShape.slice(0, axis));
  const runs = inputs.map((t) => sizeOf(t.shape.slice(axis)));
  const width = runs.reduce((a, b) => a + b, 0);
  const heap = heapOf(backend, out.dtype);
  const dst = startOf(backend, out);
  let column = 0;
  inputs.forEach((input, i) => {
    const run = runs[i];
    if (run > 0) {
      const src = startOf(backend, input);
      for (let o = 0; o < outer; o++) copyRun(heap, src + o * run, dst + o * width + column, run);
    }
    column += run;
  });
  return out;
}

/** The `wasm` `Concat` kernel: {@linkcode concatRuns} (strings: stock). */
export function concatWasm(
  args: { inputs: tf.TensorInfo[]; backend: BackendWasm; attrs: tf.NamedAttrMap },
): tf.TensorInfo {
  const stock = registered(stockConcat, "Concat");
  const { inputs } = args;
  if (inputs[0].dtype === "string") {
    return (stock.kernelFunc as unknown as (a: typeof args) => tf.TensorInfo)(args);
  }
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, inputs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  return concatRuns(args.backend, inputs, axis, outShape);
}

/** The `wasm` `Pack` kernel (`tf.stack`): {@linkcode concatRuns} on a new axis (strings: stock). */
export function packWasm(
  args: { inputs: tf.TensorInfo[]; backend: BackendWasm; attrs: tf.NamedAttrMap },
): tf.TensorInfo {
  const stock = registered(stockPack, "Pack");
  const { inputs } = args;
  const shape = inputs[0].shape;
  if (
    inputs[0].dtype === "string" ||
    inputs.some((t) => t.dtype !== inputs[0].dtype || !tf.util.arraysEqual(t.shape, shape))
  ) {
    // The stock kernel names what does not match.
    return (stock.kernelFunc as unknown as (a: typeof args) => tf.TensorInfo)(args);
  }
  const rank = shape.length;
  const given = args.attrs.axis as number;
  const axis = given < 0 ? rank + 1 + given : given;
  const outShape = [...shape.slice(0, axis), inputs.length, ...shape.slice(axis)];
  const expanded = inputs.map((t) => ({
    ...t,
    shape: [...shape.slice(0, axis), 1, ...shape.slice(axis)],
  }));
  return concatRuns(args.backend, expanded, axis, outShape);
}

/**
 * Replaces the `wasm` backend's `GatherV2`, `Slice`, `SplitV`, `Concat` and `Pack` by
 * {@linkcode gatherWasm}, {@linkcode sliceWasm}, {@linkcode splitVWasm}, {@linkcode concatWasm}
 * and {@linkcode packWasm}, keeping the stock kernels for the cases they pass on. Calling it
 * again is a no-op.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmGatherSlice } from "./wasm_gather_slice.ts";
 *
 * registerWasmGatherSlice();
 * await tf.setBackend("wasm");
 * const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
 * if (tf.gather(x, [2, 0]).dataSync().join() !== "5,6,1,2") throw new Error();
 * if (tf.slice(x, [1, 1], [2, 1]).dataSync().join() !== "4,6") throw new Error();
 * x.dispose();
 * ```
 */
export function registerWasmGatherSlice(): void {
  const source = "lib/backend/wasm_gather_slice.ts";
  stockGather = wrapStockWasmKernel(tf.GatherV2, gatherWasm as tf.KernelFunc, source) ??
    stockGather;
  stockSlice = wrapStockWasmKernel(tf.Slice, sliceWasm as tf.KernelFunc, source) ?? stockSlice;
  stockSplitV = wrapStockWasmKernel(tf.SplitV, splitVWasm as unknown as tf.KernelFunc, source) ??
    stockSplitV;
  stockConcat = wrapStockWasmKernel(tf.Concat, concatWasm as unknown as tf.KernelFunc, source) ??
    stockConcat;
  stockPack = wrapStockWasmKernel(tf.Pack, packWasm as unknown as tf.KernelFunc, source) ??
    stockPack;
}
