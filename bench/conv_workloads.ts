/**
 * Convolution workloads shared by `conv_bench.ts` (deno bench) and `conv_gflops.ts` (a
 * GFLOP/s table): one conv layer's forward pass and both gradients, and a training step of
 * a small conv encoder-decoder.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

/** Starts the `wasm` backend (SIMD, one thread). */
export async function useWasm(): Promise<void> {
  if (!(await tf.setBackend("wasm"))) throw new Error("bench/conv_workloads.ts: no wasm backend");
  await tf.ready();
}

/** A seeded standard-normal tensor. */
export function seededTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => scale * randomNormal(rng)), shape);
}

/** The three kernels of one conv layer, ready to time. */
export interface ConvLayerOps {
  /** 2 * N * OH * OW * KH * KW * CI * CO: the multiply-adds of any of the three. */
  flops: number;
  forward: () => tf.Tensor;
  inputGrad: () => tf.Tensor;
  filterGrad: () => tf.Tensor;
  dispose: () => void;
}

/** A 'same'-padded conv layer: x [n, size, size, ci], filter [k, k, ci, co], `stride`. */
export function convLayer(
  n: number,
  size: number,
  ci: number,
  co: number,
  k: number,
  stride: number,
): ConvLayerOps {
  const x = seededTensor([n, size, size, ci], 1) as tf.Tensor4D;
  const filter = seededTensor([k, k, ci, co], 2) as tf.Tensor4D;
  const out = Math.ceil(size / stride);
  const dy = seededTensor([n, out, out, co], 3) as tf.Tensor4D;
  const attrs = { strides: stride, pad: "same" as const, dataFormat: "NHWC" as const };
  return {
    flops: 2 * n * out * out * k * k * ci * co,
    forward: () => tf.conv2d(x, filter, stride, "same"),
    // tf.conv2dTranspose is exactly the Conv2DBackpropInput kernel.
    inputGrad: () => tf.conv2dTranspose(dy, filter, x.shape, stride, "same"),
    filterGrad: () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        ...attrs,
        filterShape: filter.shape,
      }) as tf.Tensor,
    dispose: () => tf.dispose([x, filter, dy]),
  };
}

/** A training step of a 4-layer conv encoder-decoder, and its clean-up. */
export interface TrainStep {
  step: () => number;
  dispose: () => void;
}

/**
 * Conv encoder-decoder on [n, size, size, 3] images: 3x3 stride-2 convs 3->c1->c2, then
 * 4x4 stride-2 transposed convs c2->c1->3, ReLU between, MSE reconstruction, Adam.
 */
export function encoderDecoderStep(n = 8, size = 64, c1 = 32, c2 = 64): TrainStep {
  const shapes = [[3, 3, 3, c1], [3, 3, c1, c2], [4, 4, c1, c2], [4, 4, 3, c1]];
  const weights = shapes.map((s, i) => {
    const fanIn = s[0] * s[1] * (i < 2 ? s[2] : s[3]);
    return tf.variable(seededTensor(s, 10 + i, Math.sqrt(2 / fanIn)));
  });
  const [w1, w2, w3, w4] = weights as unknown as tf.Tensor4D[];
  const x = seededTensor([n, size, size, 3], 20) as tf.Tensor4D;
  const optimizer = tf.train.adam(1e-3);
  const loss = () => {
    const e1 = tf.relu(tf.conv2d(x, w1, 2, "same"));
    const e2 = tf.relu(tf.conv2d(e1, w2, 2, "same"));
    const d1 = tf.relu(tf.conv2dTranspose(e2, w3, [n, size / 2, size / 2, c1], 2, "same"));
    const d2 = tf.conv2dTranspose(d1, w4, [n, size, size, 3], 2, "same");
    return tf.mean(tf.square(tf.sub(d2, x))) as tf.Scalar;
  };
  return {
    step: () => {
      const value = optimizer.minimize(loss, true, weights)!;
      const v = value.dataSync()[0];
      value.dispose();
      return v;
    },
    dispose: () => {
      tf.dispose([x, ...weights]);
      optimizer.dispose();
    },
  };
}
