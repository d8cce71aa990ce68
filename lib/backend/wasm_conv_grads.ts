/**
 * Fast convolution gradients for TF.js's `wasm` backend.
 *
 * The stock `wasm` backend has no `Conv2DBackpropFilter` (so no conv can be trained on it)
 * and a slow `Conv2DBackpropInput`. Both are rewritten here as calls to its fast forward
 * `Conv2D`, which covers `tf.conv2d`'s gradients and `tf.conv2dTranspose` with its gradients.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
// Loaded first so that its stock kernels are registered before (and replaced by) ours.
import "@tensorflow/tfjs-backend-wasm";
import { conv2dBackpropFilterWasm } from "./wasm_conv_backprop_filter.ts";
import { conv2dBackpropInputWasm } from "./wasm_conv_backprop_input.ts";
import { registerWasmBatchMatMul } from "./wasm_batch_matmul.ts";
import { registerWasmPow } from "./wasm_pow.ts";

export { conv2dBackpropFilterWasm } from "./wasm_conv_backprop_filter.ts";
export { conv2dBackpropInputWasm } from "./wasm_conv_backprop_input.ts";
export { batchMatMulWasm, registerWasmBatchMatMul } from "./wasm_batch_matmul.ts";
export { powWasm, registerWasmPow } from "./wasm_pow.ts";

/** The kernels {@link registerWasmConvGradients} installs. */
export const WASM_CONV_GRAD_KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: "wasm",
    kernelFunc: conv2dBackpropFilterWasm as tf.KernelFunc,
  },
  {
    kernelName: tf.Conv2DBackpropInput,
    backendName: "wasm",
    kernelFunc: conv2dBackpropInputWasm as tf.KernelFunc,
  },
];

/**
 * Registers `Conv2DBackpropFilter` and `Conv2DBackpropInput` for the `wasm` backend,
 * replacing any kernel already registered under those names, and wraps `BatchMatMul` so
 * that the matmul gradients (which set transpose flags) take the fast path (see
 * {@linkcode registerWasmBatchMatMul}), and `Pow` so that squares are vectorised (see
 * {@linkcode registerWasmPow}). Calling it again is a no-op.
 * Dilations other than 1 and the NCHW layout throw a clear error.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "./register_gradients.ts";
 * import { registerWasmConvGradients } from "./wasm_conv_grads.ts";
 *
 * registerWasmConvGradients();
 * await tf.setBackend("wasm");
 * const x = tf.ones([2, 8, 8, 3]) as tf.Tensor4D;
 * const w = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
 * const loss = (a: tf.Tensor, b: tf.Tensor) =>
 *   tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"));
 * const [dx, dw] = tf.grads(loss)([x, w]);
 * if (dw.shape.join() !== "3,3,3,4" || dx.shape.join() !== "2,8,8,3") throw new Error();
 * ```
 */
export function registerWasmConvGradients(): void {
  for (const config of WASM_CONV_GRAD_KERNELS) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
  registerWasmBatchMatMul();
  registerWasmPow();
}
