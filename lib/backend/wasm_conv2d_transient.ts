/**
 * A `Conv2D` for TF.js's `wasm` backend that leaves no packed copy of a trainable filter behind.
 *
 * The stock kernel creates an XNNPACK operator per filter tensor and caches it (with a
 * transposed float copy of the filter and XNNPACK's packed copy: two copies) until that
 * filter's memory is freed. That pays off for fixed weights (the frozen backbone, which uses
 * `FusedConv2D` and keeps its cache), but a trainable filter gets new memory at every
 * optimiser step, so its cached operator is never reused across steps; it only holds two
 * extra copies of every trainable convolution's weights from the forward pass until the
 * optimiser replaces them (WideResNet-50-2 RD: about 540 MB of wasm heap through the whole
 * backward pass). This kernel runs the stock one on a temporary copy of a trainable variable's
 * filter and frees it at once, which frees the operator too. Same values: the copy is exact
 * and the convolution is the same XNNPACK operator.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { wrapStockWasmKernel } from "./wasm_kernel_wrap.ts";
// Loaded first so that the stock kernel is registered before we wrap it.
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

let stockConv2d: tf.KernelConfig | undefined;

/** Whether `dataId` is the current data of a trainable variable. */
function isTrainableVariableData(dataId: tf.DataId): boolean {
  const variables = tf.engine().state.registeredVariables;
  for (const name in variables) {
    const variable = variables[name];
    if (variable.trainable && variable.dataId === dataId) return true;
  }
  return false;
}

/** The `wasm` `Conv2D` kernel: stock, on a temporary copy of a trainable variable's filter. */
export function conv2dTransientWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap },
): tf.TensorInfo {
  const stock = stockConv2d;
  if (stock === undefined) {
    throw new Error(
      "lib/backend/wasm_conv2d_transient.ts: call registerWasmTransientConv2d() before using the kernel",
    );
  }
  const run = stock.kernelFunc as (a: typeof args) => tf.TensorInfo;
  const { filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  if (filter.dtype !== "float32" || !isTrainableVariableData(filter.dataId)) return run(args);
  const { backend } = args;
  const copy = backend.makeOutput(filter.shape, "float32");
  // Views after the allocation: growing the heap detaches earlier views.
  (backend.typedArrayFromHeap(copy) as Float32Array).set(
    backend.typedArrayFromHeap(filter) as Float32Array,
  );
  try {
    return run({ ...args, inputs: { ...args.inputs, filter: copy } });
  } finally {
    backend.disposeData(copy.dataId);
  }
}

/**
 * Replaces the `wasm` backend's `Conv2D` by {@linkcode conv2dTransientWasm} (keeping the stock
 * kernel and its setup). Calling it again is a no-op.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { registerWasmTransientConv2d } from "./wasm_conv2d_transient.ts";
 * await tf.setBackend("wasm");
 * registerWasmTransientConv2d();
 * const w = tf.variable(tf.ones([1, 1, 1, 1]));
 * const y = tf.conv2d(tf.ones([1, 2, 2, 1]) as tf.Tensor4D, w as tf.Tensor4D, 1, "valid");
 * if (y.dataSync().join() !== "1,1,1,1") throw new Error();
 * tf.dispose([w, y]);
 * ```
 */
export function registerWasmTransientConv2d(): void {
  const stock = wrapStockWasmKernel(
    tf.Conv2D,
    conv2dTransientWasm as unknown as tf.KernelFunc,
    "lib/backend/wasm_conv2d_transient.ts",
  );
  if (stock !== undefined) stockConv2d = stock;
}
