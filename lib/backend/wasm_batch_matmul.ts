/**
 * A `BatchMatMul` for TF.js's `wasm` backend that never hands a transposed operand to the
 * stock kernel.
 *
 * The stock kernel multiplies with `transposeA` / `transposeB` set up to 10x slower than
 * without them ([1024, 128] x [64, 128]ᵀ: 6 ms against 0.6 ms for the same product with the
 * operand already transposed), and every matmul gradient sets one of them. Transposing the
 * operand first and multiplying without flags is the same sum of products in the same order
 * per output element, so the results do not change beyond float rounding of the kernel.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { wrapStockWasmKernel } from "./wasm_kernel_wrap.ts";
// Loaded first so that the stock kernel is registered before we wrap it.
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { swapOuterAndInnerAxes } from "./wasm_heap_transpose.ts";
import { WasmKernelScope } from "./wasm_kernel_scope.ts";

let stockBatchMatMul: tf.KernelConfig | undefined;

/** Returns `x` with its last two axes swapped, as a new tensor owned by `scope`. */
function transposeLastTwoAxes(
  scope: WasmKernelScope,
  backend: BackendWasm,
  x: tf.TensorInfo,
): tf.TensorInfo {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2], cols = x.shape[rank - 1];
  const outer = x.shape.slice(0, -2);
  const batch = outer.reduce((a, b) => a * b, 1);
  if (batch === 1 && x.dtype === "float32") {
    // [rows, 1, cols] -> [cols, 1, rows], then the caller's rank back.
    const swapped = scope.adopt(swapOuterAndInnerAxes(backend, x, rows, 1, cols));
    return scope.run("Reshape", { x: swapped }, { shape: [...outer, cols, rows] });
  }
  const perm = [...outer.keys(), rank - 1, rank - 2];
  return scope.run("Transpose", { x }, { perm });
}

/**
 * The `wasm` `BatchMatMul` kernel: transposes a flagged operand explicitly, then runs the
 * stock kernel without transpose flags. Unflagged products go straight to the stock kernel.
 */
export function batchMatMulWasm(
  args: {
    inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
    backend: BackendWasm;
    attrs: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const stock = stockBatchMatMul;
  if (stock === undefined) {
    throw new Error(
      "lib/backend/wasm_batch_matmul.ts: call registerWasmBatchMatMul() before using the kernel",
    );
  }
  const run = stock.kernelFunc as (a: typeof args) => tf.TensorInfo;
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (!transposeA && !transposeB) return run(args);
  const scope = new WasmKernelScope(args.backend);
  try {
    return run({
      inputs: {
        a: transposeA ? transposeLastTwoAxes(scope, args.backend, a) : a,
        b: transposeB ? transposeLastTwoAxes(scope, args.backend, b) : b,
      },
      backend: args.backend,
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    });
  } finally {
    scope.close();
  }
}

/**
 * Replaces the `wasm` backend's `BatchMatMul` by {@linkcode batchMatMulWasm}, which wraps the
 * stock kernel (kept, with its setup, for the products themselves). Calling it again is a
 * no-op.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmBatchMatMul } from "./wasm_batch_matmul.ts";
 *
 * registerWasmBatchMatMul();
 * await tf.setBackend("wasm");
 * const y = tf.matMul(tf.ones([4, 3]), tf.ones([5, 3]), false, true);
 * if (y.shape.join() !== "4,5" || y.dataSync()[0] !== 3) throw new Error();
 * ```
 */
export function registerWasmBatchMatMul(): void {
  stockBatchMatMul = wrapStockWasmKernel(
    tf.BatchMatMul,
    batchMatMulWasm as tf.KernelFunc,
    "lib/backend/wasm_batch_matmul.ts",
  ) ?? stockBatchMatMul;
}
