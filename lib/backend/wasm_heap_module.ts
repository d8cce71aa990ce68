/**
 * Our SIMD wasm modules (Adam, the filter gradient, batch norm) run directly on TF.js's wasm
 * heap: each is compiled once per heap memory and imports it. This file finds that memory and
 * keeps the compiled, bound exports per memory.
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * The backend's `WebAssembly.Memory`: exported by the single-threaded binary (`asm.memory`),
 * created in JavaScript and imported by the threaded one (`wasmMemory`).
 */
export function wasmHeapMemory(backend: BackendWasm): WebAssembly.Memory | undefined {
  const wasm =
    (backend as unknown as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } })
      .wasm;
  const exported = wasm?.asm?.memory;
  if (exported instanceof WebAssembly.Memory) return exported;
  return wasm?.wasmMemory instanceof WebAssembly.Memory ? wasm.wasmMemory : undefined;
}

/**
 * The exports of a module made by `build(shared)` (shared: the heap is a `SharedArrayBuffer`,
 * as under threaded wasm), instantiated with the backend's heap as `env.memory` and picked by
 * `bind`; compiled once per memory and kept in `cache`. Undefined when the heap is not
 * reachable or the engine cannot validate the module (e.g. no SIMD): callers fall back to
 * their scalar path.
 *
 * @example
 * ```ts
 * import { boundHeapModule } from "./wasm_heap_module.ts";
 * // A backend without a wasm heap: nothing to bind to.
 * const cache = new WeakMap<WebAssembly.Memory, unknown>();
 * const bound = boundHeapModule({} as never, cache, () => new Uint8Array(0), (e) => e);
 * if (bound !== undefined) throw new Error("no heap, no module");
 * ```
 */
export function boundHeapModule<T>(
  backend: BackendWasm,
  cache: WeakMap<WebAssembly.Memory, T | null>,
  build: (shared: boolean) => Uint8Array<ArrayBuffer>,
  bind: (exports: WebAssembly.Exports) => T,
): T | undefined {
  const memory = wasmHeapMemory(backend);
  if (memory === undefined) return undefined;
  let bound = cache.get(memory);
  if (bound === undefined) {
    const shared = typeof SharedArrayBuffer !== "undefined" &&
      memory.buffer instanceof SharedArrayBuffer;
    const bytes = build(shared);
    bound = WebAssembly.validate(bytes)
      ? bind(new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports)
      : null;
    cache.set(memory, bound);
  }
  return bound ?? undefined;
}
