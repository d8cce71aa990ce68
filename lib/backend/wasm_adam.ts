/**
 * A fused Adam / AdamW update for one variable as a single `wasm` kernel, `CclAdamUpdate`.
 *
 * TF.js's Adam runs about ten element-wise kernels per variable (and as many heap
 * allocations); this one reads x, m, v and g once and writes the new x, m and v. Every step
 * is rounded to float32 in the same order as TF.js's composite update (`Math.fround` after
 * each operation of float32 operands: double rounding is exact for + - * / and sqrt), so the
 * result is bit-identical to the composite on any backend that rounds correctly.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-wasm";
import { type AdamScalars, runSimdAdam, simdAdamFor } from "./wasm_adam_simd.ts";

/** The name of the fused kernel (registered for `wasm` only). */
export const ADAM_UPDATE_KERNEL = "CclAdamUpdate";

/**
 * The scalars of one update. Values are JavaScript numbers; the kernel rounds them to float32
 * exactly as TF.js does when it turns a number into a scalar tensor.
 */
export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t (float32, as the optimiser tracks it). */
  oneMinusBeta1Power: number;
  /** 1 - beta2^t (float32). */
  oneMinusBeta2Power: number;
  /** L2 penalty added to the gradient (Adam) or decoupled decay (AdamW); 0 for none. */
  weightDecay: number;
  /** true: AdamW (x *= 1 - lr * wd before the step); false: g += wd * x. */
  decoupled: boolean;
}

/** Inputs of {@linkcode ADAM_UPDATE_KERNEL}: the variable, both moments and the gradient. */
export interface AdamUpdateInputs {
  x: tf.TensorInfo;
  m: tf.TensorInfo;
  v: tf.TensorInfo;
  g: tf.TensorInfo;
}

const f = Math.fround;

/** The update's scalars rounded to float32 as TF.js rounds numbers it turns into tensors. */
export function adamScalars(a: AdamUpdateAttrs): AdamScalars {
  return {
    b1: f(a.beta1),
    b2: f(a.beta2),
    c1: f(1 - a.beta1),
    c2: f(1 - a.beta2),
    bc1: f(a.oneMinusBeta1Power),
    bc2: f(a.oneMinusBeta2Power),
    eps: f(a.epsilon),
    negLr: f(-a.learningRate),
    wd: f(a.weightDecay),
    shrink: f(1 - a.learningRate * a.weightDecay),
    l2: !a.decoupled && a.weightDecay !== 0,
    decay: a.decoupled && a.weightDecay !== 0,
  };
}

/**
 * The update on plain arrays, in place of nothing: writes x', m', v' into the `out*` arrays.
 * Exported for the tests and for backends whose data lives in JavaScript memory.
 */
export function adamUpdateArrays(
  x: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  outX: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  a: AdamUpdateAttrs,
): void {
  const { b1, b2, c1, c2, bc1, bc2, eps, negLr, wd, shrink, l2, decay } = adamScalars(a);
  const n = x.length;
  for (let i = 0; i < n; i++) {
    let xi = x[i];
    let gi = g[i];
    if (l2) gi = f(gi + f(wd * xi));
    if (decay) xi = f(xi * shrink);
    const mi = f(f(m[i] * b1) + f(gi * c1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * c2));
    const denom = f(f(Math.sqrt(f(vi / bc2))) + eps);
    outX[i] = f(f(f(f(mi / bc1) / denom) * negLr) + xi);
    outM[i] = mi;
    outV[i] = vi;
  }
}

function checkInputs(inputs: AdamUpdateInputs): void {
  const { x, m, v, g } = inputs;
  for (const [name, t] of Object.entries(inputs) as [string, tf.TensorInfo][]) {
    if (t.dtype !== "float32") {
      throw new Error(`lib/backend/wasm_adam.ts: ${name} is ${t.dtype}, expected float32`);
    }
  }
  const size = (t: tf.TensorInfo) => t.shape.reduce((s, d) => s * d, 1);
  if (size(m) !== size(x) || size(v) !== size(x) || size(g) !== size(x)) {
    throw new Error(
      `lib/backend/wasm_adam.ts: shapes differ: x [${x.shape}], m [${m.shape}], ` +
        `v [${v.shape}], g [${g.shape}]`,
    );
  }
}

/** The `wasm` kernel: three new tensors [x', m', v'] shaped like x. */
export function adamUpdateWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap },
): tf.TensorInfo[] {
  const inputs = args.inputs as unknown as AdamUpdateInputs;
  checkInputs(inputs);
  const { backend } = args;
  const shape = inputs.x.shape;
  const outs = [0, 1, 2].map(() => backend.makeOutput(shape, "float32"));
  const attrs = args.attrs as unknown as AdamUpdateAttrs;
  const n = shape.reduce((s, d) => s * d, 1);
  // The SIMD function takes whole groups of four; the scalar loop does the rest.
  const simd = simdAdamFor(backend);
  const done = simd === undefined ? 0 : n - (n % 4);
  if (simd !== undefined && done > 0) {
    const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset;
    runSimdAdam(
      simd,
      {
        x: at(inputs.x),
        m: at(inputs.m),
        v: at(inputs.v),
        g: at(inputs.g),
        outX: at(outs[0]),
        outM: at(outs[1]),
        outV: at(outs[2]),
      },
      done,
      adamScalars(attrs),
    );
  }
  if (done < n) {
    // Views after every allocation: growing the heap detaches earlier views.
    const view = (t: tf.TensorInfo) =>
      (backend.typedArrayFromHeap(t) as Float32Array).subarray(done);
    adamUpdateArrays(
      view(inputs.x),
      view(inputs.m),
      view(inputs.v),
      view(inputs.g),
      view(outs[0]),
      view(outs[1]),
      view(outs[2]),
      attrs,
    );
  }
  return outs;
}

/**
 * Registers {@linkcode ADAM_UPDATE_KERNEL} for `wasm`. Idempotent.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { ADAM_UPDATE_KERNEL, registerWasmAdam } from "./wasm_adam.ts";
 * registerWasmAdam();
 * await tf.setBackend("wasm");
 * const [x, m, v] = tf.engine().runKernel(ADAM_UPDATE_KERNEL, {
 *   x: tf.tensor1d([1]), m: tf.zeros([1]), v: tf.zeros([1]), g: tf.tensor1d([2]),
 * }, {
 *   learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
 *   oneMinusBeta1Power: 0.1, oneMinusBeta2Power: 0.001, weightDecay: 0, decoupled: false,
 * } as unknown as tf.NamedAttrMap) as tf.Tensor[];
 * // Adam's first step moves by the learning rate: x' = 0.9
 * if (Math.abs(x.dataSync()[0] - 0.9) > 1e-6) throw new Error();
 * tf.dispose([x, m, v]);
 * ```
 */
export function registerWasmAdam(): void {
  if (tf.getKernel(ADAM_UPDATE_KERNEL, "wasm") !== undefined) return;
  tf.registerKernel({
    kernelName: ADAM_UPDATE_KERNEL,
    backendName: "wasm",
    kernelFunc: adamUpdateWasm as unknown as tf.KernelFunc,
  });
}
