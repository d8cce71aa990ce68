/**
 * Training-mode batch norm over the last (channel) axis as two fused `wasm` kernels:
 * `CclBatchNormTrainForward` (x, gamma, beta -> y, batch mean, biased batch variance,
 * 1/sqrt(variance + epsilon)) and `CclBatchNormTrainBackward` (x, dy, gamma, mean, invStd ->
 * dx, dgamma, dbeta). TF.js's composite needs about ten element-wise kernels (and as many
 * heap allocations) forward and a dozen backward; these read x (and dy) two or three times
 * and write one tensor.
 *
 * Numerics. The statistics are computed block by block (blocks of about 16k floats, read
 * twice while they sit in cache): a float32 sum gives the block mean, a second sweep sums
 * the deviations d from that (float32) mean and their squares, and the block's exact mean
 * and centred sum of squares (mean + Σd/n, Σd² - (Σd)²/n: the corrected two-pass
 * algorithm) are merged across blocks in float64 with Chan et al.'s pairwise update. So no
 * float32 sum runs over more than one block, and the variance never comes from E[x²] -
 * E[x]². The variance is the biased one (divided by N = B·H·W), as before; the
 * per-channel sums of the backward pass are blocked the same way. Results match the
 * composite within float32 rounding, not bit for bit.
 *
 * A third kernel, `CclBatchNormRunningUpdate`, updates the running statistics in one call
 * instead of seven, bit-identical to the composite.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  type BatchNormLoop,
  DATA_POINTERS,
  scalarLoop,
  simdBatchNormFor,
  type SimdLoops,
} from "./wasm_batch_norm_simd.ts";

/** The fused forward kernel (registered for `wasm` only). */
export const BATCH_NORM_TRAIN_FORWARD_KERNEL = "CclBatchNormTrainForward";
/** The fused backward kernel (registered for `wasm` only). */
export const BATCH_NORM_TRAIN_BACKWARD_KERNEL = "CclBatchNormTrainBackward";

/** The running-statistics update as one kernel (registered for `wasm` only). */
export const BATCH_NORM_RUNNING_UPDATE_KERNEL = "CclBatchNormRunningUpdate";

/** Floats per statistics block: 64 KiB, which stays in L2 between the block's two sweeps. */
const BLOCK_FLOATS = 16384;

const SOURCE = "lib/backend/wasm_batch_norm.ts";

function size(t: tf.TensorInfo): number {
  return t.shape.reduce((s, d) => s * d, 1);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Runs the loops on one backend's heap: SIMD over whole periods, the scalar twin on the rest. */
class Sweeper {
  readonly #simd: SimdLoops | undefined;
  readonly heap: Float32Array;

  /** Call after every allocation of the kernel: growing the heap detaches older views. */
  constructor(backend: BackendWasm) {
    this.#simd = simdBatchNormFor(backend);
    // Emscripten's HEAPU8 is not in the module's type; typedArrayFromHeap reads the same.
    const heap8 = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
    this.heap = new Float32Array(heap8.buffer);
  }

  /** `loop` over `count` floats; `pointers` are byte offsets, in the loop's argument order. */
  run(loop: BatchNormLoop, count: number, period: number, pointers: number[]): void {
    const whole = this.#simd === undefined ? 0 : count - (count % period);
    if (whole > 0) this.#simd![loop](whole * 4, period * 4, ...pointers);
    if (whole < count) {
      const floats = pointers.map((p, k) => p / 4 + (k < DATA_POINTERS[loop] ? whole : 0));
      scalarLoop(loop, this.heap, count - whole, period, floats);
    }
  }

  /** Writes `values` (one per channel, rounded to float32) tiled over one period at `at`. */
  tile(at: number, values: ArrayLike<number>, period: number): void {
    const c = values.length;
    for (let j = 0; j < period; j++) this.heap[at / 4 + j] = values[j % c];
  }

  /** Adds the period's lanes at `at` into per-channel float64 `out` (zeroed first). */
  fold(at: number, period: number, out: Float64Array): void {
    out.fill(0);
    const c = out.length;
    for (let j = 0; j < period; j++) out[j % c] += this.heap[at / 4 + j];
  }

  zero(at: number, floats: number): void {
    this.heap.fill(0, at / 4, at / 4 + floats);
  }
}

/** How a kernel walks its input: channels (last axis), values, rows, period, block size. */
interface Layout {
  channels: number;
  total: number;
  rows: number;
  period: number;
  blockFloats: number;
}

function layoutOf(x: tf.TensorInfo): Layout {
  const channels = x.shape[x.shape.length - 1];
  const total = size(x);
  const period = (channels * 4) / gcd(channels, 4);
  return {
    channels,
    total,
    rows: total / channels,
    period,
    blockFloats: period * Math.max(1, Math.floor(BLOCK_FLOATS / period)),
  };
}

function checkFloat(name: string, t: tf.TensorInfo): void {
  if (t.dtype !== "float32") {
    throw new Error(`${SOURCE}: ${name} is ${t.dtype}, expected float32`);
  }
}

function checkChannels(channels: number, named: Record<string, tf.TensorInfo>): void {
  for (const [name, t] of Object.entries(named)) {
    checkFloat(name, t);
    if (t.shape.length !== 1 || t.shape[0] !== channels) {
      throw new Error(
        `${SOURCE}: ${name} has shape [${t.shape}], expected [${channels}] ` +
          `(the input's last axis)`,
      );
    }
  }
}

function checkInput(x: tf.TensorInfo): Layout {
  checkFloat("x", x);
  if (x.shape.length < 1 || size(x) === 0) {
    throw new Error(`${SOURCE}: batch norm needs a non-empty input, got [${x.shape}]`);
  }
  return layoutOf(x);
}

/** Per-channel count, mean and centred sum of squares in float64, merged block by block. */
class ChannelMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;

  constructor(channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  /** Chan, Golub and LeVeque's pairwise update with one block's moments. */
  add(count: number, mean: Float64Array, m2: Float64Array): void {
    const total = this.count + count;
    for (let c = 0; c < this.mean.length; c++) {
      const delta = mean[c] - this.mean[c];
      this.mean[c] += (delta * count) / total;
      this.m2[c] += m2[c] + (delta * delta * this.count * count) / total;
    }
    this.count = total;
  }
}

/** Inputs of {@linkcode BATCH_NORM_TRAIN_FORWARD_KERNEL}: x [..., C], gamma and beta [C]. */
export interface BatchNormForwardInputs {
  x: tf.TensorInfo;
  gamma: tf.TensorInfo;
  beta: tf.TensorInfo;
}

/** Inputs of {@linkcode BATCH_NORM_TRAIN_BACKWARD_KERNEL}: x and dy alike, the rest [C]. */
export interface BatchNormBackwardInputs {
  x: tf.TensorInfo;
  dy: tf.TensorInfo;
  gamma: tf.TensorInfo;
  mean: tf.TensorInfo;
  invStd: tf.TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: BackendWasm; attrs: tf.NamedAttrMap };

/** Byte offset of a tensor on the wasm heap. */
function offsetOf(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

/** Six period-long scratch slots on the heap; `free` releases them. */
function scratchSlots(backend: BackendWasm, period: number) {
  const info = backend.makeOutput([6 * period], "float32");
  const base = offsetOf(backend, info);
  const slot = (k: number) => base + k * period * 4;
  return {
    acc1: slot(0),
    acc2: slot(1),
    mean: slot(2),
    p1: slot(3),
    p2: slot(4),
    p3: slot(5),
    free: () => backend.disposeData(info.dataId),
  };
}

/**
 * The forward kernel: outputs [y, mean, variance, invStd], y shaped like x, the others [C].
 * Attribute `epsilon` is added to the variance.
 */
export function batchNormTrainForwardWasm(args: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as unknown as BatchNormForwardInputs;
  const { backend } = args;
  const epsilon = args.attrs.epsilon as number;
  const layout = checkInput(x);
  checkChannels(layout.channels, { gamma, beta });
  if (!(epsilon >= 0)) throw new Error(`${SOURCE}: epsilon must be >= 0, got ${epsilon}`);
  const { channels, total, rows, period, blockFloats } = layout;
  const y = backend.makeOutput(x.shape, "float32");
  const [mean, variance, invStd] = [0, 1, 2].map(() => backend.makeOutput([channels], "float32"));
  const s = scratchSlots(backend, period);
  try {
    const sweep = new Sweeper(backend);
    const xAt = offsetOf(backend, x);
    const moments = new ChannelMoments(channels);
    const sums = new Float64Array(channels), squares = new Float64Array(channels);
    const blockMean = new Float64Array(channels), blockM2 = new Float64Array(channels);
    for (let start = 0; start < total; start += blockFloats) {
      const count = Math.min(blockFloats, total - start);
      const n = count / channels;
      const from = xAt + start * 4;
      sweep.zero(s.acc1, period);
      sweep.run("sum", count, period, [from, s.acc1]);
      sweep.fold(s.acc1, period, sums);
      const shift = Float32Array.from(sums, (v) => v / n);
      sweep.tile(s.mean, shift, period);
      sweep.zero(s.acc1, 2 * period);
      sweep.run("dev", count, period, [from, s.mean, s.acc1, s.acc2]);
      sweep.fold(s.acc1, period, sums);
      sweep.fold(s.acc2, period, squares);
      for (let c = 0; c < channels; c++) {
        blockMean[c] = shift[c] + sums[c] / n;
        blockM2[c] = squares[c] - (sums[c] * sums[c]) / n;
      }
      moments.add(n, blockMean, blockM2);
    }
    const heap = sweep.heap;
    const g = backend.typedArrayFromHeap(gamma) as Float32Array;
    const meanOut = new Float32Array(heap.buffer, offsetOf(backend, mean), channels);
    const varOut = new Float32Array(heap.buffer, offsetOf(backend, variance), channels);
    const invOut = new Float32Array(heap.buffer, offsetOf(backend, invStd), channels);
    const scale = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const v = Math.max(0, moments.m2[c] / rows);
      const inv = 1 / Math.sqrt(v + epsilon);
      meanOut[c] = moments.mean[c];
      varOut[c] = v;
      invOut[c] = inv;
      scale[c] = g[c] * inv;
    }
    sweep.tile(s.mean, meanOut, period);
    sweep.tile(s.p1, scale, period);
    sweep.tile(s.p2, backend.typedArrayFromHeap(beta) as Float32Array, period);
    sweep.run("affine", total, period, [xAt, offsetOf(backend, y), s.mean, s.p1, s.p2]);
  } finally {
    s.free();
  }
  return [y, mean, variance, invStd];
}

/**
 * The backward kernel: outputs [dx, dgamma, dbeta] from the forward's input x, the upstream
 * gradient dy, gamma and the forward's mean and invStd. With x̂ = (x - mean)·invStd and N
 * values per channel: dbeta = Σ dy, dgamma = Σ dy·x̂,
 * dx = gamma·invStd·(dy - dbeta/N - x̂·dgamma/N).
 */
export function batchNormTrainBackwardWasm(args: KernelArgs): tf.TensorInfo[] {
  const { x, dy, gamma, mean, invStd } = args.inputs as unknown as BatchNormBackwardInputs;
  const { backend } = args;
  const layout = checkInput(x);
  checkFloat("dy", dy);
  if (dy.shape.join() !== x.shape.join()) {
    throw new Error(`${SOURCE}: dy has shape [${dy.shape}], x has [${x.shape}]`);
  }
  checkChannels(layout.channels, { gamma, mean, invStd });
  const { channels, total, rows, period, blockFloats } = layout;
  const dx = backend.makeOutput(x.shape, "float32");
  const [dGamma, dBeta] = [0, 1].map(() => backend.makeOutput([channels], "float32"));
  const s = scratchSlots(backend, period);
  try {
    const sweep = new Sweeper(backend);
    const xAt = offsetOf(backend, x), dyAt = offsetOf(backend, dy);
    const m = backend.typedArrayFromHeap(mean) as Float32Array;
    sweep.tile(s.mean, m, period);
    const sumDy = new Float64Array(channels), sumDyD = new Float64Array(channels);
    const part1 = new Float64Array(channels), part2 = new Float64Array(channels);
    for (let start = 0; start < total; start += blockFloats) {
      const count = Math.min(blockFloats, total - start);
      sweep.zero(s.acc1, 2 * period);
      sweep.run("dyStats", count, period, [
        dyAt + start * 4,
        xAt + start * 4,
        s.mean,
        s.acc1,
        s.acc2,
      ]);
      sweep.fold(s.acc1, period, part1);
      sweep.fold(s.acc2, period, part2);
      for (let c = 0; c < channels; c++) {
        sumDy[c] += part1[c];
        sumDyD[c] += part2[c];
      }
    }
    const heap = sweep.heap;
    const g = backend.typedArrayFromHeap(gamma) as Float32Array;
    const inv = backend.typedArrayFromHeap(invStd) as Float32Array;
    const dGammaOut = new Float32Array(heap.buffer, offsetOf(backend, dGamma), channels);
    const dBetaOut = new Float32Array(heap.buffer, offsetOf(backend, dBeta), channels);
    const a = new Float64Array(channels), b = new Float64Array(channels);
    const c0 = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      dBetaOut[c] = sumDy[c];
      dGammaOut[c] = inv[c] * sumDyD[c];
      a[c] = g[c] * inv[c];
      // x̂·mean(dy·x̂) = (x - mean)·invStd²·Σ dy·(x - mean) / N
      b[c] = (a[c] * inv[c] * inv[c] * sumDyD[c]) / rows;
      c0[c] = (a[c] * sumDy[c]) / rows;
    }
    sweep.tile(s.p1, a, period);
    sweep.tile(s.p2, b, period);
    sweep.tile(s.p3, c0, period);
    sweep.run("dx", total, period, [dyAt, xAt, offsetOf(backend, dx), s.mean, s.p1, s.p2, s.p3]);
  } finally {
    s.free();
  }
  return [dx, dGamma, dBeta];
}

/** Inputs of {@linkcode BATCH_NORM_RUNNING_UPDATE_KERNEL}, all [C]. */
export interface RunningUpdateInputs {
  runningMean: tf.TensorInfo;
  runningVar: tf.TensorInfo;
  mean: tf.TensorInfo;
  variance: tf.TensorInfo;
}

const fround = Math.fround;

/**
 * The running-statistics kernel: outputs [mean', var'] = [(1 - m)·runningMean + m·mean,
 * (1 - m)·runningVar + m·variance·N/(N - 1)] (PyTorch's update: the running variance takes
 * the unbiased batch variance) for attributes `momentum` m and `count` N. Every operation is
 * rounded to float32 in the order of the composite (`tf.mul` by the float32 scalars 1 - m,
 * m and N/(N - 1), then `tf.add`), so the result is bit-identical to it.
 */
export function batchNormRunningUpdateWasm(args: KernelArgs): tf.TensorInfo[] {
  const inputs = args.inputs as unknown as RunningUpdateInputs;
  const { backend } = args;
  const momentum = args.attrs.momentum as number, count = args.attrs.count as number;
  if (!(momentum >= 0 && momentum <= 1) || !(count > 1)) {
    throw new Error(`${SOURCE}: need 0 <= momentum <= 1 and count > 1, got ${momentum}, ${count}`);
  }
  const channels = inputs.runningMean.shape[0];
  checkChannels(channels, { ...inputs });
  const outs = [0, 1].map(() => backend.makeOutput([channels], "float32"));
  // Views after the allocations: growing the heap detaches older ones.
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [rm, rv, mean, variance] = [
    inputs.runningMean,
    inputs.runningVar,
    inputs.mean,
    inputs.variance,
  ].map(view);
  const [outMean, outVar] = outs.map(view);
  const keep = fround(1 - momentum), take = fround(momentum);
  const bessel = fround(count / (count - 1));
  for (let c = 0; c < channels; c++) {
    outMean[c] = fround(fround(rm[c] * keep) + fround(mean[c] * take));
    const unbiased = fround(variance[c] * bessel);
    outVar[c] = fround(fround(rv[c] * keep) + fround(unbiased * take));
  }
  return outs;
}

const KERNELS: readonly tf.KernelConfig[] = [
  {
    kernelName: BATCH_NORM_RUNNING_UPDATE_KERNEL,
    backendName: "wasm",
    kernelFunc: batchNormRunningUpdateWasm as unknown as tf.KernelFunc,
  },
  {
    kernelName: BATCH_NORM_TRAIN_FORWARD_KERNEL,
    backendName: "wasm",
    kernelFunc: batchNormTrainForwardWasm as unknown as tf.KernelFunc,
  },
  {
    kernelName: BATCH_NORM_TRAIN_BACKWARD_KERNEL,
    backendName: "wasm",
    kernelFunc: batchNormTrainBackwardWasm as unknown as tf.KernelFunc,
  },
];

/**
 * Registers the three kernels for `wasm` (it does not load the wasm backend itself). Idempotent.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { fusedTrainingBatchNorm, registerWasmBatchNorm } from "./wasm_batch_norm.ts";
 * registerWasmBatchNorm();
 * await tf.setBackend("wasm");
 * const y = fusedTrainingBatchNorm(tf.tensor4d([1, 3], [2, 1, 1, 1]), tf.ones([1]), tf.zeros([1]), 0);
 * if (y.dataSync().join() !== "-1,1") throw new Error();
 * y.dispose();
 * ```
 */
export function registerWasmBatchNorm(): void {
  for (const config of KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) {
      tf.registerKernel(config);
    }
  }
}

/**
 * Removes the three kernels, so {@linkcode hasFusedTrainingBatchNorm} is false and batch norm
 * takes the composite path (benchmarks compare the two in one process). Idempotent.
 */
export function unregisterWasmBatchNorm(): void {
  for (const config of KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
  }
}

/**
 * The running statistics after one training batch, as one kernel: `[mean', var']` (new
 * tensors, the caller's) from the running ones, the batch mean and biased variance over
 * `count` values per channel. Needs {@linkcode hasFusedTrainingBatchNorm}.
 */
export function fusedRunningStatistics(
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  mean: tf.Tensor1D,
  variance: tf.Tensor1D,
  momentum: number,
  count: number,
): [tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(
    BATCH_NORM_RUNNING_UPDATE_KERNEL,
    { runningMean, runningVar, mean, variance },
    { momentum, count },
  ) as [tf.Tensor1D, tf.Tensor1D];
}

/** Whether the current backend has the fused kernels. */
export function hasFusedTrainingBatchNorm(): boolean {
  const backend = tf.getBackend();
  return KERNELS.every((k) => tf.getKernel(k.kernelName, backend) !== undefined);
}

/**
 * Training-mode batch norm through the fused kernels, differentiable in x, gamma and beta
 * (the mean and variance handed to `onStats` carry no gradient). Needs
 * {@linkcode hasFusedTrainingBatchNorm}.
 */
export function fusedTrainingBatchNorm<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): T {
  const forward = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance, invStd] = tf.engine().runKernel(
      BATCH_NORM_TRAIN_FORWARD_KERNEL,
      { x, gamma, beta },
      { epsilon },
    ) as tf.Tensor[];
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    save([x, gamma, mean, invStd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedGamma, savedMean, savedInvStd] = saved;
        return tf.engine().runKernel(BATCH_NORM_TRAIN_BACKWARD_KERNEL, {
          x: savedX,
          dy,
          gamma: savedGamma,
          mean: savedMean,
          invStd: savedInvStd,
        }, {}) as tf.Tensor[];
      },
    };
  };
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta) as T;
}
