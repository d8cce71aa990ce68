/**
 * Composes registered `wasm` kernels inside another kernel, the way the backends themselves
 * compose kernels: each step works on backend-owned {@link TensorInfo}s (no engine tensors,
 * no gradient tape), and every intermediate is released when the scope closes.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** Inputs of one kernel call: named tensors, or a list for kernels such as `Concat`. */
export type KernelInputs = tf.NamedTensorInfoMap | tf.TensorInfo[];

/**
 * A scope that runs `wasm` kernels directly and frees every intermediate they made.
 *
 * @example
 * ```ts ignore
 * const scope = new WasmKernelScope(backend);
 * try {
 *   const t = scope.run("Transpose", { x }, { perm: [3, 1, 2, 0] });
 *   return scope.keep(scope.run("Reshape", { x: t }, { shape: [-1] }));
 * } finally {
 *   scope.close();
 * }
 * ```
 */
export class WasmKernelScope {
  readonly #backend: BackendWasm;
  readonly #made: tf.TensorInfo[] = [];
  readonly #kept = new Set<tf.TensorInfo>();

  constructor(backend: BackendWasm) {
    this.#backend = backend;
  }

  /** Runs the `wasm` kernel `name`; the result lives until {@link close} unless kept. */
  run(name: string, inputs: KernelInputs, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, "wasm");
    if (kernel === undefined) {
      throw new Error(`lib/backend/wasm_kernel_scope.ts: no '${name}' kernel registered for wasm`);
    }
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.#backend,
      attrs,
    });
    if (Array.isArray(out)) {
      throw new Error(`lib/backend/wasm_kernel_scope.ts: '${name}' returned several outputs`);
    }
    this.#made.push(out);
    return out;
  }

  /** Tracks `info`, made outside {@link run} on this backend, as one of the intermediates. */
  adopt(info: tf.TensorInfo): tf.TensorInfo {
    this.#made.push(info);
    return info;
  }

  /** Marks `info` as the caller's: {@link close} will not free it. Returns `info`. */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    this.#kept.add(info);
    return info;
  }

  /**
   * Frees every intermediate not kept. Reshape results share storage through reference
   * counts, so freeing the source of a kept reshape leaves the kept one intact.
   */
  close(): void {
    for (const info of this.#made) {
      if (!this.#kept.has(info)) this.#backend.disposeData(info.dataId);
    }
    this.#made.length = 0;
    this.#kept.clear();
  }
}
