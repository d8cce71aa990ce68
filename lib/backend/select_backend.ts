/**
 * Picks, initialises and reports the TensorFlow.js backend.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmConvGradients } from "./wasm_conv_grads.ts";
import { registerWasmGatherSlice } from "./wasm_gather_slice.ts";
import { registerWasmSharedIdentity } from "./wasm_identity.ts";
import { registerWasmTransientConv2d } from "./wasm_conv2d_transient.ts";
import { initWasmBackend } from "./wasm_threads.ts";

/** Backends in the order they are preferred when none is requested. */
export const BACKEND_PREFERENCE = [
  "tensorflow-gpu",
  "tensorflow",
  "webgpu",
  "wasm",
  "cpu",
] as const;

/** A backend name ccl-ad knows how to initialise. */
export type BackendName = typeof BACKEND_PREFERENCE[number];

/** The environment variable that overrides the automatic choice. */
export const BACKEND_ENV_VAR = "CCL_BACKEND";

/** What was chosen and why; recorded in every result. */
export interface BackendInfo {
  /** The backend in use, as ccl-ad names it. */
  name: BackendName;
  /** The name TF.js registered it under (`tensorflow` for both tfjs-node packages). */
  tfjsName: string;
  /** Whether the choice was automatic or forced by flag/env. */
  how: "auto" | "requested";
  /** The backends tried before it and why each was passed over. */
  skipped: string[];
  /** Device details when known (WebGPU adapter, tfjs-node package). */
  device?: string;
  tfjsVersion: string;
}

/** Options of {@linkcode selectBackend}. */
export interface SelectBackendOptions {
  /** Forces one backend; defaults to the `CCL_BACKEND` environment variable, then automatic. */
  requested?: string;
  /** Prints the choice (default true). */
  log?: boolean;
}

let current: BackendInfo | undefined;

/** The backend chosen by the last {@linkcode selectBackend} call, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/**
 * Initialises the best available backend (tfjs-node-gpu, tfjs-node, WebGPU on a hardware
 * adapter, wasm, cpu), or the one named by `options.requested` / `CCL_BACKEND`, and prints it.
 * A requested backend that cannot start is an error, never a silent fallback.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./select_backend.ts";
 * const info = await selectBackend({ requested: "cpu", log: false });
 * if (info.name !== "cpu") throw new Error("cpu was requested");
 * ```
 */
export function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  // Concurrent runs (the demo's, on a worker pool) select in turn: interleaved
  // tf.setBackend calls can leave one of them on another backend.
  const next = selecting.then(() => selectBackendNow(options));
  selecting = next.catch(() => {});
  return next;
}

let selecting: Promise<unknown> = Promise.resolve();

async function selectBackendNow(options: SelectBackendOptions): Promise<BackendInfo> {
  const requested = options.requested ?? readEnvBackend();
  const skipped: string[] = [];
  let info: BackendInfo | undefined;
  if (requested) {
    const name = parseBackendName(requested);
    const failure = await tryBackend(name, true);
    if (typeof failure === "string") {
      throw new Error(`backend "${name}" was requested but cannot start: ${failure}`);
    }
    info = { ...failure, how: "requested", skipped };
  } else {
    for (const name of BACKEND_PREFERENCE) {
      const result = await tryBackend(name);
      if (typeof result === "string") {
        skipped.push(`${name}: ${result}`);
        continue;
      }
      info = { ...result, how: "auto", skipped };
      break;
    }
  }
  if (!info) throw new Error(`no TF.js backend could start:\n  ${skipped.join("\n  ")}`);
  current = info;
  if (options.log ?? true) console.error(describeBackend(info));
  return info;
}

/** One line for logs: `backend: wasm (auto; skipped tensorflow-gpu: not installed, ...)`. */
export function describeBackend(info: BackendInfo): string {
  const device = info.device ? ` [${info.device}]` : "";
  const skipped = info.skipped.length ? `; skipped ${info.skipped.join("; ")}` : "";
  return `backend: ${info.name}${device} (${info.how}${skipped})`;
}

function readEnvBackend(): string | undefined {
  try {
    return Deno.env.get(BACKEND_ENV_VAR) || undefined;
  } catch {
    return undefined; // no --allow-env: automatic choice
  }
}

function parseBackendName(name: string): BackendName {
  const normalised = name.trim().toLowerCase();
  const aliases: Record<string, BackendName> = {
    "gpu": "tensorflow-gpu",
    "node-gpu": "tensorflow-gpu",
    "node": "tensorflow",
  };
  const resolved = aliases[normalised] ?? normalised;
  if (!(BACKEND_PREFERENCE as readonly string[]).includes(resolved)) {
    throw new Error(
      `unknown backend "${name}" (from --backend or ${BACKEND_ENV_VAR}); ` +
        `expected one of ${BACKEND_PREFERENCE.join(", ")}`,
    );
  }
  return resolved as BackendName;
}

type Started = Omit<BackendInfo, "how" | "skipped">;

/** Starts one backend; returns why not as a string when it cannot. */
async function tryBackend(name: BackendName, forced = false): Promise<Started | string> {
  try {
    switch (name) {
      case "tensorflow-gpu":
      case "tensorflow":
        return await startTfjsNode(name);
      case "webgpu":
        return await startWebGpu(forced);
      case "wasm": {
        // CCL_WASM_THREADS (default 1) decides single- or multi-threaded wasm.
        const { threads, reason } = await initWasmBackend();
        const device = threads > 1 ? `${threads} threads (${reason})` : undefined;
        // Memory: the shared Identity keeps the gradient tape from copying what it saves; the
        // transient Conv2D keeps no packed copies of trainable filters. Gather and slices copy
        // on the heap instead of reading tensors back.
        const register = () => {
          registerWasmConvGradients();
          registerWasmSharedIdentity();
          registerWasmTransientConv2d();
          registerWasmGatherSlice();
        };
        return await activate("wasm", "wasm", register, device);
      }
      case "cpu":
        return await activate("cpu", "cpu");
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function activate(
  name: BackendName,
  tfjsName: string,
  afterReady?: () => void,
  device?: string,
): Promise<Started | string> {
  const ok = await tf.setBackend(tfjsName);
  if (!ok) return `tf.setBackend("${tfjsName}") failed`;
  await tf.ready();
  afterReady?.();
  return { name, tfjsName, device, tfjsVersion: tf.version_core };
}

/** The package a GPU user installs for each tfjs-node backend. */
export const TFJS_NODE_PACKAGES = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  "tensorflow": "@tensorflow/tfjs-node",
} as const;

async function startTfjsNode(name: "tensorflow-gpu" | "tensorflow"): Promise<Started | string> {
  const specifier: string = TFJS_NODE_PACKAGES[name];
  try {
    // A variable specifier keeps `deno check` from requiring the optional package.
    await import(specifier);
  } catch {
    return `not installed (add ${specifier} to deno.json imports; see README)`;
  }
  return await activate(name, "tensorflow", undefined, specifier);
}

async function startWebGpu(allowSoftware: boolean): Promise<Started | string> {
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  if (!gpu) return "navigator.gpu is not available";
  const adapter = await gpu.requestAdapter();
  if (!adapter) return "no WebGPU adapter";
  const description = adapter.info?.description ?? "";
  const software = adapter.info?.isFallbackAdapter ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  if (software && !allowSoftware) {
    return `only a software adapter (${description || "fallback"}), slower than wasm`;
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  return await activate("webgpu", "webgpu", undefined, description || "adapter");
}

interface GpuLike {
  requestAdapter(): Promise<
    { info?: { description?: string; isFallbackAdapter?: boolean } } | null
  >;
}
