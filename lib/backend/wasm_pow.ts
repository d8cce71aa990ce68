/**
 * A `Pow` for TF.js's `wasm` backend that squares with `Square` when the exponent is the
 * scalar 2 (as in `tf.norm`'s Euclidean norm) and copies for 1 (that norm's gradient).
 *
 * The stock kernel calls the scalar `pow` per element (~45 ns each, 6 ms for [16, 8192]);
 * `Square` is a vectorised multiply. x·x is the correctly rounded x², as is `pow(x, 2)`.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { wrapStockWasmKernel } from "./wasm_kernel_wrap.ts";
// Loaded first so that the stock kernel is registered before we wrap it.
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

let stockPow: tf.KernelConfig | undefined;

/** `b`'s value when it is one float32 value that broadcasts to `a`'s shape, else undefined. */
function scalarExponent(
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): number | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  if (b.shape.some((d) => d !== 1) || b.shape.length > a.shape.length) return undefined;
  return (backend.typedArrayFromHeap(b) as Float32Array)[0];
}

/** The `wasm` `Pow` kernel: `Square` / `Identity` for a scalar exponent 2 / 1, else stock. */
export function powWasm(
  args: {
    inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
    backend: BackendWasm;
    attrs: tf.NamedAttrMap;
  },
): tf.TensorInfo {
  const stock = stockPow;
  if (stock === undefined) {
    throw new Error("lib/backend/wasm_pow.ts: call registerWasmPow() before using the kernel");
  }
  const { a, b } = args.inputs;
  const exponent = scalarExponent(args.backend, a, b);
  // pow(x, 1) is x exactly: the norm gradient's pow(x, 2 - 1).
  const shortcut = exponent === 2 ? tf.Square : exponent === 1 ? tf.Identity : undefined;
  if (shortcut !== undefined) {
    const kernel = tf.getKernel(shortcut, "wasm");
    if (kernel !== undefined) {
      return kernel.kernelFunc({
        inputs: { x: a },
        backend: args.backend,
        attrs: {},
      }) as tf.TensorInfo;
    }
  }
  return (stock.kernelFunc as (x: typeof args) => tf.TensorInfo)(args);
}

/**
 * Replaces the `wasm` backend's `Pow` by {@linkcode powWasm}, which wraps the stock kernel
 * (kept, with its setup). Calling it again is a no-op.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmPow } from "./wasm_pow.ts";
 *
 * registerWasmPow();
 * await tf.setBackend("wasm");
 * if (tf.pow(tf.tensor1d([3, -2]), 2).dataSync().join() !== "9,4") throw new Error();
 * ```
 */
export function registerWasmPow(): void {
  stockPow = wrapStockWasmKernel(tf.Pow, powWasm as tf.KernelFunc, "lib/backend/wasm_pow.ts") ??
    stockPow;
}
