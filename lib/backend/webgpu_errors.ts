/**
 * WebGPU reports a failed kernel (an invalid pipeline, a binding over the device's limits, an
 * out-of-memory buffer) only as an uncaptured device error: the kernel's output and everything
 * else in its command buffer silently keep stale values. This module records those errors so a
 * training step can fail instead of returning wrong numbers.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

interface ErrorTarget {
  addEventListener(type: "uncapturederror", listener: (event: Event) => void): void;
}

const watched = new WeakSet<ErrorTarget>();
const pending: string[] = [];

/** The GPU device of the active backend when it is TF.js WebGPU, else undefined. */
function webGpuDevice(): ErrorTarget | undefined {
  if (tf.getBackend() !== "webgpu") return undefined;
  const device = (tf.backend() as { device?: ErrorTarget }).device;
  return typeof device?.addEventListener === "function" ? device : undefined;
}

/**
 * Starts recording the uncaptured errors of the active backend's WebGPU device (once per
 * device); does nothing on other backends. Returns whether a device is watched.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { watchWebGpuErrors } from "./webgpu_errors.ts";
 * await tf.setBackend("cpu");
 * if (watchWebGpuErrors()) throw new Error("cpu has no WebGPU device");
 * ```
 */
export function watchWebGpuErrors(): boolean {
  const device = webGpuDevice();
  if (!device) return false;
  if (!watched.has(device)) {
    watched.add(device);
    device.addEventListener("uncapturederror", (event: Event) => {
      const error = (event as Event & { error?: { message?: string } }).error;
      pending.push(error?.message ?? String(error));
    });
  }
  return true;
}

/** The device errors recorded since the last call (and forgets them). */
export function takeWebGpuErrors(): string[] {
  return pending.splice(0, pending.length);
}

/**
 * Throws when the watched WebGPU device reported errors since the last check, naming `where`
 * and the first errors: the numbers computed meanwhile cannot be trusted.
 */
export function throwIfWebGpuErrors(where: string): void {
  const errors = takeWebGpuErrors();
  if (errors.length === 0) return;
  const shown = errors.slice(0, 3).map((e) => `  ${e.split("\n")[0]}`).join("\n");
  throw new Error(
    `${where}: the WebGPU device reported ${errors.length} error(s) since the last check, so ` +
      `the numbers computed meanwhile are wrong (a kernel or its whole command buffer did not ` +
      `run):\n${shown}`,
  );
}
