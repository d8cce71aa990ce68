/**
 * Multi-threaded `wasm` for a single run that owns the machine (`CCL_WASM_THREADS=1|2|auto`).
 *
 * Under Deno, TF.js's wasm backend sees `process.versions.node`, declares that threads are
 * unsupported and loads its single-threaded binary; `setThreadsCount` is then ignored. Its
 * threaded binary does run under Deno with three fixes, applied here around the backend's
 * initialisation only and undone right after (no TF.js file is changed or copied):
 *
 * 1. **A file path for the pthread worker script.** TF.js hands Emscripten a `blob:` URL,
 *    which Node's `worker_threads` (Deno's compat layer) cannot load. `Blob` and
 *    `URL.createObjectURL` are wrapped so that the worker script is written to a temporary
 *    file and its path returned; the main script, which the workers import, likewise.
 * 2. **No `location` assignment in the worker.** The worker script's Node branch assigns
 *    `location: {href: __filename}`, and `__filename` does not exist in a Deno worker; that
 *    assignment is dropped, and the main script is imported from its file. The bundler's
 *    module-level names the main script refers to (`commonjsGlobal`, `require$$N`) are
 *    defined for it.
 * 3. **A core count TF.js accepts.** The backend caps its pool at
 *    `emscripten_num_logical_cores() / 2` (it assumes two hyper-threads per core), which is 1
 *    on a 2-core machine; `os.cpus()` reports twice the cores while the module starts.
 *
 * The threaded binary computes the same numbers (XNNPACK splits the output, not the sums):
 * tested bit-identical against one thread. It is faster only when the cores are idle: with
 * another process on a core it is about 2x slower, so `auto` enables it only on a machine
 * that is idle now, and a worker pool always runs one thread per worker.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfWasm from "@tensorflow/tfjs-backend-wasm";
import os from "node:os";

/** The environment variable: `1` (default), a thread count, or `auto`. */
export const WASM_THREADS_ENV_VAR = "CCL_WASM_THREADS";

/** What was asked for: a count, or `auto`. */
export type WasmThreadsSetting = number | "auto";

/** The outcome, recorded next to the backend. */
export interface WasmThreadsInfo {
  requested: WasmThreadsSetting;
  /** Threads the backend runs with (TF.js's `getThreadsCount`). */
  threads: number;
  /** Why this count (e.g. `auto: 1-minute load 1.9 on 2 cores`). */
  reason: string;
}

let singleThreadOnly = false;
let info: WasmThreadsInfo | undefined;

/** Pool workers call this: several workers must never also start threads each. */
export function forceSingleThreadedWasm(): void {
  singleThreadOnly = true;
}

/** How the current `wasm` backend was set up, if through {@linkcode initWasmBackend}. */
export function wasmThreadsInfo(): WasmThreadsInfo | undefined {
  return info;
}

/** Parses `CCL_WASM_THREADS` (or `value`): a positive integer or `auto`; default 1. */
export function parseWasmThreads(value: string | undefined): WasmThreadsSetting {
  if (value === undefined || value === "") return 1;
  if (value === "auto") return "auto";
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 8) {
    throw new Error(
      `${WASM_THREADS_ENV_VAR} must be 1..8 or "auto", got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function readSetting(): WasmThreadsSetting {
  let value: string | undefined;
  try {
    value = Deno.env.get(WASM_THREADS_ENV_VAR);
  } catch {
    value = undefined; // no --allow-env: the default
  }
  return parseWasmThreads(value);
}

/**
 * `auto`: as many threads as cores only when the machine is idle now (1-minute load average
 * below 0.5); otherwise 1, because threads that wait for a busy core are slower than none.
 */
export function autoThreadCount(
  cores = navigator.hardwareConcurrency || 1,
  load = Deno.loadavg()[0],
): { threads: number; reason: string } {
  const threads = cores >= 2 && load < 0.5 ? Math.min(cores, 8) : 1;
  return { threads, reason: `auto: 1-minute load ${load.toFixed(2)} on ${cores} cores` };
}

/** The worker script's pieces that fixes 1 and 2 rewrite; each must be found. */
const WORKER_LOCATION = "location:{href:__filename},";
const WORKER_IMPORT_BLOB =
  "var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)";
const MAIN_SCRIPT_START = "var WasmBackendModuleThreadedSimd";
const WORKER_SCRIPT_START = '"use strict";var Module={}';
/** Module-level names of TF.js's node bundle that the threaded factory's source refers to. */
const BUNDLE_GLOBALS = 'globalThis.commonjsGlobal=globalThis;globalThis.require$$0=require("fs");' +
  'globalThis.require$$1=require("path");globalThis.require$$3=require("perf_hooks");' +
  'globalThis.require$$4=require("os");';

/** Rewrites the pthread worker script (fix 2); throws if TF.js's script is not the known one. */
export function patchWorkerScript(text: string, mainScriptPath: string): string {
  for (const piece of [WORKER_LOCATION, WORKER_IMPORT_BLOB]) {
    if (!text.includes(piece)) {
      throw new Error(
        `lib/backend/wasm_threads.ts: TF.js's wasm worker script lacks ${JSON.stringify(piece)}; ` +
          `threaded wasm is not available with this TF.js version`,
      );
    }
  }
  return text.replace(WORKER_LOCATION, "")
    .replace(WORKER_IMPORT_BLOB, `importScripts(${JSON.stringify(mainScriptPath)})`);
}

/** Checks that the main script refers to no bundle name beyond those defined for it. */
export function checkMainScript(text: string): void {
  const names = new Set(text.match(/require\$\$\d+/g) ?? []);
  for (const name of names) {
    if (!BUNDLE_GLOBALS.includes(`${name}=`)) {
      throw new Error(
        `lib/backend/wasm_threads.ts: TF.js's threaded wasm script refers to ${name}, ` +
          `which is not provided; threaded wasm is not available with this TF.js version`,
      );
    }
  }
}

/**
 * Applies the three fixes while `init` runs, then undoes them. Temporary script files live in
 * one folder that is removed when the process exits.
 */
async function withThreadFixes<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const dir = Deno.makeTempDirSync({ prefix: "ccl-wasm-threads-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  const texts = new WeakMap<Blob, string>();
  let mainScriptPath: string | undefined;
  const OriginalBlob = globalThis.Blob;
  const originalCreate = URL.createObjectURL;
  const originalCpus = os.cpus;
  let files = 0;
  const writeScript = (text: string) => {
    const path = `${dir}/script-${files++}.js`;
    Deno.writeTextFileSync(path, text);
    return path;
  };
  class RecordingBlob extends OriginalBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (!parts?.every((p) => typeof p === "string")) return;
      const text = (parts as string[]).join("");
      texts.set(this, text);
      if (text.startsWith(MAIN_SCRIPT_START)) {
        checkMainScript(text);
        mainScriptPath = writeScript(BUNDLE_GLOBALS + text);
      }
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (object: Blob) => {
    const text = object instanceof OriginalBlob ? texts.get(object) : undefined;
    if (text?.startsWith(WORKER_SCRIPT_START)) {
      if (mainScriptPath === undefined) {
        throw new Error("lib/backend/wasm_threads.ts: the worker script came before the main one");
      }
      return writeScript(patchWorkerScript(text, mainScriptPath));
    }
    return originalCreate(object);
  };
  const cpus = () => {
    const one = originalCpus()[0];
    return Array.from({ length: 2 * threads }, () => one);
  };
  (os as { cpus: typeof os.cpus }).cpus = cpus as typeof os.cpus;
  try {
    return await init();
  } finally {
    globalThis.Blob = OriginalBlob;
    URL.createObjectURL = originalCreate;
    (os as { cpus: typeof os.cpus }).cpus = originalCpus;
  }
}

/**
 * Lets the process exit while the pthread workers idle: Emscripten starts them as Node
 * `worker_threads`, which otherwise keep the event loop alive forever.
 */
function unrefThreadWorkers(): void {
  const pthread = (tf.backend() as unknown as {
    wasm?: { PThread?: { unusedWorkers?: unknown[]; runningWorkers?: unknown[] } };
  }).wasm?.PThread;
  for (const worker of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) {
    (worker as { unref?: () => void }).unref?.();
  }
}

/**
 * Sets up the `wasm` backend with the thread count from `setting` (default: the
 * `CCL_WASM_THREADS` environment variable), before it is first initialised, and sets it as
 * the backend. One thread takes TF.js's usual path, untouched.
 *
 * @example
 * ```ts ignore
 * import { initWasmBackend } from "./wasm_threads.ts";
 * const info = await initWasmBackend(2); // { requested: 2, threads: 2, reason: "requested" }
 * ```
 */
export async function initWasmBackend(
  setting: WasmThreadsSetting = readSetting(),
): Promise<WasmThreadsInfo> {
  let threads: number, reason: string;
  if (singleThreadOnly) {
    [threads, reason] = [1, "worker pool: one thread per worker"];
  } else if (setting === "auto") {
    ({ threads, reason } = autoThreadCount());
  } else {
    [threads, reason] = [setting, setting === 1 ? "default" : "requested"];
  }
  if (info !== undefined || tf.engine().registry["wasm"] !== undefined) {
    // Already initialised in this isolate: the thread count cannot change any more.
    if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to start");
    info ??= { requested: setting, threads: tfWasm.getThreadsCount(), reason: "already set up" };
    return info;
  }
  if (threads > 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    tfWasm.setThreadsCount(threads);
    const ok = await withThreadFixes(threads, () => tf.setBackend("wasm"));
    if (!ok) throw new Error("the threaded wasm backend failed to start");
    unrefThreadWorkers();
  } else if (!(await tf.setBackend("wasm"))) {
    throw new Error("the wasm backend failed to start");
  }
  info = { requested: setting, threads: tfWasm.getThreadsCount(), reason };
  return info;
}
