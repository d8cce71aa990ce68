/**
 * An `Identity` for TF.js's `wasm` backend that shares its input's memory (one more reference
 * to the same data) instead of copying it, as the `cpu` and `webgl` backends and wasm's own
 * `Reshape` do.
 *
 * Why it matters: TF.js saves every tensor a gradient needs through `Identity` (the engine's
 * `saveTensorsForBackwardMode` clones each saved input and output). The stock wasm kernel
 * copies, so during a training step the tape held a second copy of every saved activation and
 * of every trainable filter (WideResNet-50-2 RD: about 270 MB of conv weights alone, all in
 * the 4 GiB wasm heap). Sharing is safe because no kernel writes into its inputs (a variable's
 * `assign` moves it to new data; it never overwrites the old), the same invariant `Reshape`
 * already relies on. Values are the same bits, so results do not change.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
// Loaded first so that the stock kernel is registered before we replace it.
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The `wasm` `Identity` kernel: the input's data under one more reference (strings: stock). */
export function identityWasm(
  args: { inputs: { x: tf.TensorInfo }; backend: BackendWasm; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === "string") {
    throw new Error(
      "lib/backend/wasm_identity.ts: string tensors are not supported by the shared Identity",
    );
  }
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

let stockIdentity: tf.KernelConfig | undefined;

/**
 * Replaces the `wasm` backend's `Identity` by {@linkcode identityWasm} (string tensors, which
 * the project never puts on wasm, still go to the stock kernel). Calling it again is a no-op;
 * {@linkcode restoreWasmIdentity} puts the stock kernel back (for tests comparing the two).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmSharedIdentity } from "./wasm_identity.ts";
 * await tf.setBackend("wasm");
 * registerWasmSharedIdentity();
 * const x = tf.tensor1d([1, 2, 3]);
 * const y = tf.clone(x); // same memory, two references
 * if (y.dataSync().join() !== "1,2,3") throw new Error();
 * tf.dispose([x, y]);
 * ```
 */
export function registerWasmSharedIdentity(): void {
  const current = tf.getKernel(tf.Identity, "wasm");
  if (current?.kernelFunc === sharedKernel) return;
  stockIdentity = current;
  if (current !== undefined) tf.unregisterKernel(tf.Identity, "wasm");
  tf.registerKernel({ kernelName: tf.Identity, backendName: "wasm", kernelFunc: sharedKernel });
}

/** Puts back the stock (copying) `wasm` `Identity` that {@linkcode registerWasmSharedIdentity} replaced. */
export function restoreWasmIdentity(): void {
  const current = tf.getKernel(tf.Identity, "wasm");
  if (current?.kernelFunc !== sharedKernel || stockIdentity === undefined) return;
  tf.unregisterKernel(tf.Identity, "wasm");
  tf.registerKernel(stockIdentity);
}

const sharedKernel: tf.KernelFunc = (args) => {
  const x = (args.inputs as { x: tf.TensorInfo }).x;
  if (x.dtype === "string" && stockIdentity !== undefined) {
    return (stockIdentity.kernelFunc as tf.KernelFunc)(args);
  }
  return identityWasm(args as unknown as Parameters<typeof identityWasm>[0]);
};
