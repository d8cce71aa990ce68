/**
 * Frozen convolution + batch-norm layers with PyTorch semantics in TF.js (NHWC).
 *
 * PyTorch pads convolutions and max-pools symmetrically by `padding` pixels; TF's "same"
 * padding puts the extra pixel at the bottom/right instead, so with stride 2 the windows differ.
 * Everything here pads explicitly, so outputs match PyTorch pixel for pixel.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** PyTorch's BatchNorm default epsilon. */
export const BATCH_NORM_EPS = 1e-5;

/** A PyTorch convolution weight: OIHW values and their shape. */
export interface ConvWeight {
  /** [out, in, kh, kw]. */
  shape: readonly [number, number, number, number];
  data: Float32Array;
}

/** A PyTorch BatchNorm2d in eval mode: affine parameters and running statistics. */
export interface BatchNormParams {
  weight: Float32Array;
  bias: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
  /** Defaults to {@linkcode BATCH_NORM_EPS}. */
  eps?: number;
}

/**
 * PyTorch OIHW conv weights -> TF.js HWIO (`transpose([2, 3, 1, 0])`), as a flat array.
 *
 * @example
 * ```ts
 * import { oihwToHwio } from "./layers.ts";
 * // out=2, in=1, 1x1: the HWIO order is [h][w][in][out]
 * const hwio = oihwToHwio(new Float32Array([1, 2]), [2, 1, 1, 1]); // [1, 2]
 * ```
 */
export function oihwToHwio(
  data: Float32Array,
  shape: readonly [number, number, number, number],
): Float32Array {
  const [o, i, kh, kw] = shape;
  const out = new Float32Array(data.length);
  for (let oc = 0; oc < o; oc++) {
    for (let ic = 0; ic < i; ic++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          out[((y * kw + x) * i + ic) * o + oc] = data[((oc * i + ic) * kh + y) * kw + x];
        }
      }
    }
  }
  return out;
}

/**
 * Folds an eval-mode BatchNorm into the preceding bias-free conv:
 * `bn(conv(x, w)) = conv(x, w * s) + (beta - mean * s)` with `s = gamma / sqrt(var + eps)`.
 * Returns HWIO filter values and the bias.
 */
export function foldBatchNorm(
  conv: ConvWeight,
  bn: BatchNormParams,
): { filter: Float32Array; bias: Float32Array } {
  const [o, i, kh, kw] = conv.shape;
  const eps = bn.eps ?? BATCH_NORM_EPS;
  const scale = new Float32Array(o);
  const bias = new Float32Array(o);
  for (let c = 0; c < o; c++) {
    scale[c] = bn.weight[c] / Math.sqrt(bn.runningVar[c] + eps);
    bias[c] = bn.bias[c] - bn.runningMean[c] * scale[c];
  }
  const filter = oihwToHwio(conv.data, conv.shape);
  const perOut = i * kh * kw;
  for (let k = 0; k < perOut; k++) {
    for (let c = 0; c < o; c++) filter[k * o + c] *= scale[c];
  }
  return { filter, bias };
}

/** Geometry of a PyTorch `Conv2d(bias=False)`. */
export interface ConvGeometry {
  stride: number;
  padding: number;
}

/**
 * A frozen `Conv2d(bias=False)` followed by an eval-mode `BatchNorm2d`, folded into one
 * biased convolution, optionally followed by ReLU. Holds plain tensors (never variables).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { FrozenConvBn } from "./layers.ts";
 * const layer = new FrozenConvBn(
 *   { shape: [1, 1, 1, 1], data: new Float32Array([2]) },
 *   { weight: new Float32Array([1]), bias: new Float32Array([0]),
 *     runningMean: new Float32Array([0]), runningVar: new Float32Array([1]) },
 *   { stride: 1, padding: 0 },
 * );
 * const y = layer.apply(tf.ones([1, 2, 2, 1]), true); // ≈ 2 everywhere
 * ```
 */
export class FrozenConvBn {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly geometry: ConvGeometry;
  #filter: tf.Tensor4D;
  #bias: tf.Tensor1D;

  constructor(conv: ConvWeight, bn: BatchNormParams, geometry: ConvGeometry) {
    const [o, i, kh, kw] = conv.shape;
    if (kh !== kw) throw new Error(`only square kernels are supported, got ${kh}x${kw}`);
    const { filter, bias } = foldBatchNorm(conv, bn);
    this.inChannels = i;
    this.outChannels = o;
    this.kernelSize = kh;
    this.geometry = geometry;
    this.#filter = tf.tensor4d(filter, [kh, kw, i, o]);
    this.#bias = tf.tensor1d(bias);
  }

  /** conv + folded BN (+ ReLU); NHWC in and out. */
  apply(x: tf.Tensor4D, relu: boolean): tf.Tensor4D {
    return tf.fused.conv2d({
      x,
      filter: this.#filter,
      strides: this.geometry.stride,
      pad: torchPadding(this.geometry.padding),
      bias: this.#bias,
      activation: relu ? "relu" : "linear",
    });
  }

  dispose(): void {
    this.#filter.dispose();
    this.#bias.dispose();
  }
}

/** PyTorch's symmetric `padding=p` as TF.js explicit NHWC padding. */
export function torchPadding(p: number): [[number, number], [number, number], [number, number], [
  number,
  number,
]] {
  return [[0, 0], [p, p], [p, p], [0, 0]];
}

/** Stands in for -inf in max-pool padding (finite, so gradients and wasm stay well-defined). */
const POOL_PAD_VALUE = -3.0e38;

/**
 * PyTorch `MaxPool2d(kernel, stride, padding)`: pads symmetrically with a very negative value
 * (so padding never wins the max), then pools with "valid" windows.
 */
export function torchMaxPool2d(
  x: tf.Tensor4D,
  kernel: number,
  stride: number,
  padding: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const padded = padding > 0 ? tf.pad(x, torchPadding(padding), POOL_PAD_VALUE) : x;
    return tf.maxPool(padded, kernel, stride, "valid");
  });
}

/** PyTorch conv output size: floor((size + 2p - k) / s) + 1. */
export function convOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}
