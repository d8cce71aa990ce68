/**
 * Compute backends: the automatic choice of the TF.js backend and the wasm gradient kernels.
 * @module
 */
export * from "./select_backend.ts";
export { registerWasmConvGradients } from "./wasm_conv_grads.ts";
export { ADAM_UPDATE_KERNEL, registerWasmAdam } from "./wasm_adam.ts";
export {
  initWasmBackend,
  WASM_THREADS_ENV_VAR,
  type WasmThreadsInfo,
  wasmThreadsInfo,
} from "./wasm_threads.ts";
export { addN, MAX_ADD_N_INPUTS } from "./add_n.ts";
export { takeWebGpuErrors, throwIfWebGpuErrors, watchWebGpuErrors } from "./webgpu_errors.ts";
