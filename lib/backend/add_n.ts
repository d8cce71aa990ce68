/**
 * `tf.addN` for any number of tensors on every backend.
 *
 * TF.js WebGPU (4.22) compiles `AddN` as one shader that binds every input as a storage buffer.
 * WebGPU guarantees only 8 storage buffers per shader stage (TF.js asks the device for no more),
 * so an `AddN` of more than 7 inputs fails pipeline validation: its output keeps whatever its
 * pooled buffer held, and the whole command buffer it was recorded in is dropped, taking other
 * kernels and any read-back copy of that submission with it. Nothing throws; WebGPU reports it
 * only as an uncaptured device error. (`tests/webgpu_test.ts` reproduces it.)
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Inputs per `AddN` kernel: WebGPU's guaranteed 8 storage buffers, less one for the output. */
export const MAX_ADD_N_INPUTS = 7;

/**
 * The element-wise sum of `tensors` (same shape and dtype), as `tf.addN`, in `AddN` kernels of
 * at most {@linkcode MAX_ADD_N_INPUTS} inputs. The running sum is the first input of each
 * following kernel, so the additions happen in the same order as one `tf.addN`: on the `cpu`
 * and `wasm` backends (which add inputs one after another in float32) the result is
 * bit-identical.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { addN } from "./add_n.ts";
 * await tf.setBackend("cpu");
 * const terms = Array.from({ length: 10 }, (_, i) => tf.scalar(i + 1));
 * const sum = addN(terms); // 55, also on WebGPU
 * if ((await sum.data())[0] !== 55) throw new Error("wrong sum");
 * tf.dispose([sum, ...terms]);
 * ```
 */
export function addN<T extends tf.Tensor>(tensors: readonly T[]): T {
  if (tensors.length === 0) throw new Error("lib/backend/add_n.ts: addN of no tensors");
  if (tensors.length <= MAX_ADD_N_INPUTS) return tf.addN([...tensors]);
  return tf.tidy(() => {
    let sum = tf.addN(tensors.slice(0, MAX_ADD_N_INPUTS) as T[]);
    for (let at = MAX_ADD_N_INPUTS; at < tensors.length; at += MAX_ADD_N_INPUTS - 1) {
      sum = tf.addN([sum, ...tensors.slice(at, at + MAX_ADD_N_INPUTS - 1)]);
    }
    return sum;
  });
}
