/**
 * Replaces a stock `wasm` kernel with a faster wrapper that can still call the original.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Registers `kernelFunc` for `kernelName` on wasm, keeping the stock kernel's setup, and returns
 * the stock kernel for the wrapper to fall back on. Idempotent: when the wrapper is already
 * registered, returns `undefined` and changes nothing. Throws (naming `source`) if wasm has no
 * such kernel.
 */
export function wrapStockWasmKernel(
  kernelName: string,
  kernelFunc: tf.KernelFunc,
  source: string,
): tf.KernelConfig | undefined {
  const current = tf.getKernel(kernelName, "wasm");
  if (current?.kernelFunc === kernelFunc) return undefined;
  if (current === undefined) {
    throw new Error(`${source}: the wasm backend has no ${kernelName}`);
  }
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({
    kernelName,
    backendName: "wasm",
    setupFunc: current.setupFunc,
    kernelFunc,
  });
  return current;
}
