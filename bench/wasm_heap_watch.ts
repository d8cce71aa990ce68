/**
 * Where the wasm heap goes: counts the bytes TF.js's wasm backend allocates for tensors (every
 * tensor's memory comes from the module's `_malloc`, called from JavaScript) and the peak of
 * that count between marks, next to the heap's size. Memory the C++ kernels allocate
 * themselves (XNNPACK's packed weights, scratch) does not pass through `_malloc` from
 * JavaScript; it shows as heap minus tensor bytes. For benchmarks only: it wraps the
 * backend's allocator functions for the rest of the process.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The heap at one mark. */
export interface HeapPhase {
  name: string;
  /** Size of the wasm memory: its high-water mark so far (it never shrinks). */
  heapBytes: number;
  /** Bytes held by live tensors (and kernel scratch allocated from JavaScript) now. */
  tensorBytes: number;
  /** Peak of `tensorBytes` since the previous mark. */
  peakTensorBytes: number;
}

/** A running count of the wasm backend's tensor allocations. */
export interface WasmHeapWatch {
  /** Records the heap now and starts a new peak window. */
  mark(name: string): HeapPhase;
  /** Peak tensor bytes since the watch started. */
  readonly peakTensorBytes: number;
}

interface WasmModule {
  HEAPU8: Uint8Array;
  asm?: { malloc?: (bytes: number) => number; free?: (pointer: number) => void };
  _malloc: (bytes: number) => number;
  _free: (pointer: number) => void;
}

/**
 * Starts counting, on the active backend when it is `wasm`; undefined otherwise.
 *
 * @example
 * ```ts ignore
 * import { watchWasmHeap } from "./wasm_heap_watch.ts";
 * const watch = watchWasmHeap();
 * // ... work ...
 * console.log(watch?.mark("after work"));
 * ```
 */
export function watchWasmHeap(): WasmHeapWatch | undefined {
  const wasm = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (wasm === undefined || typeof wasm._malloc !== "function") return undefined;
  const sizes = new Map<number, number>();
  let live = 0;
  let windowPeak = 0;
  let overallPeak = 0;
  // Emscripten's `_malloc` / `_free` are stubs that replace themselves by the module's own
  // functions on first use (which would drop our wrappers): wrap those functions directly.
  const malloc = wasm.asm?.malloc ?? wasm._malloc;
  const free = wasm.asm?.free ?? wasm._free;
  wasm._malloc = (bytes: number) => {
    const pointer = malloc(bytes);
    sizes.set(pointer >>> 0, bytes);
    live += bytes;
    windowPeak = Math.max(windowPeak, live);
    overallPeak = Math.max(overallPeak, live);
    return pointer;
  };
  wasm._free = (pointer: number) => {
    const bytes = sizes.get(pointer >>> 0);
    if (bytes !== undefined) {
      live -= bytes;
      sizes.delete(pointer >>> 0);
    }
    free(pointer);
  };
  return {
    mark(name: string): HeapPhase {
      const phase = {
        name,
        heapBytes: wasm.HEAPU8.byteLength,
        tensorBytes: live,
        peakTensorBytes: windowPeak,
      };
      windowPeak = live;
      return phase;
    },
    get peakTensorBytes() {
      return overallPeak;
    },
  };
}
