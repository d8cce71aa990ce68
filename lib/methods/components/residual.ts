/**
 * Residual blocks shared by the methods (RD's bottleneck and decoder, DeSTSeg's student and
 * segmentation head, DMAD): torchvision's "basic" (two 3x3 convs) and "bottleneck"
 * (1x1 - 3x3 - 1x1) blocks, resampling down (stride 2) or up (2x2 transposed convs).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import {
  applyBatchNorm,
  applyConv2d,
  applyConvTranspose2x2,
  type BatchNorm,
  type BatchNormOptions,
  type Conv2d,
  type ConvTranspose2x2,
  createBatchNorm,
  createConv2d,
  createConvTranspose2x2,
  type VariableStore,
} from "../layers.ts";

/** Residual block family: "basic" (ResNet-18 style) or "bottleneck" (ResNet-50 style). */
export type BlockType = "basic" | "bottleneck";

/** A convolution (plain or transposed) and the batch norm after it. */
export interface ConvBn {
  readonly conv: Conv2d | ConvTranspose2x2;
  readonly bn: BatchNorm;
}

/**
 * A residual block: `main` conv+BN pairs with ReLU between them, a shortcut (`null` = identity)
 * and a ReLU after the sum.
 */
export interface ResidualBlock {
  readonly main: ConvBn[];
  readonly shortcut: ConvBn | null;
}

function isTransposed(conv: Conv2d | ConvTranspose2x2): conv is ConvTranspose2x2 {
  return !("stride" in conv);
}

/** A conv (plain or transposed) followed by its batch norm. */
export function applyConvBn(layer: ConvBn, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  const y = isTransposed(layer.conv)
    ? applyConvTranspose2x2(layer.conv, x)
    : applyConv2d(layer.conv, x);
  return applyBatchNorm(layer.bn, y, training);
}

/** Applies a residual block (batch norm in training or eval mode). */
export function applyResidualBlock(
  block: ResidualBlock,
  x: tf.Tensor4D,
  training: boolean,
): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    block.main.forEach((layer, i) => {
      y = applyConvBn(layer, y, training);
      if (i < block.main.length - 1) y = tf.relu(y);
    });
    const identity = block.shortcut ? applyConvBn(block.shortcut, x, training) : x;
    return tf.relu(tf.add(y, identity));
  });
}

/** Shapes and kind of one residual block. */
export interface BlockSpec {
  type: BlockType;
  inChannels: number;
  outChannels: number;
  /** "down": stride 2 (OCBE); "up": 2x upsampling (decoder); "none": same resolution. */
  resample: "down" | "up" | "none";
  /** Bottleneck width = outChannels / 4 · widthFactor. */
  widthFactor: number;
}

function bottleneckWidth(spec: BlockSpec, name: string): number {
  if (spec.outChannels % 4 !== 0) {
    throw new Error(
      `lib/methods/components/residual.ts: ${name}: bottleneck blocks need output channels divisible by 4, ` +
        `got ${spec.outChannels}`,
    );
  }
  return (spec.outChannels / 4) * spec.widthFactor;
}

/**
 * Creates a residual block named like torchvision's (`conv1`, `bn1`, ..., `downsample.0/1` or
 * the RD decoder's `upsample.0/1`).
 */
export function createResidualBlock(
  store: VariableStore,
  name: string,
  spec: BlockSpec,
  bnOptions: BatchNormOptions,
): ResidualBlock {
  const { inChannels, outChannels, resample } = spec;
  const stride = resample === "down" ? 2 : 1;
  const conv3x3 = (key: string, cin: number, cout: number, s: number) =>
    createConv2d(store, `${name}.${key}`, {
      inChannels: cin,
      outChannels: cout,
      kernelSize: 3,
      stride: s,
      padding: 1,
    });
  const conv1x1 = (key: string, cin: number, cout: number, s = 1) =>
    createConv2d(store, `${name}.${key}`, {
      inChannels: cin,
      outChannels: cout,
      kernelSize: 1,
      stride: s,
    });
  const deconv = (key: string, cin: number, cout: number) =>
    createConvTranspose2x2(store, `${name}.${key}`, { inChannels: cin, outChannels: cout });
  const bn = (key: string, channels: number) =>
    createBatchNorm(store, `${name}.${key}`, channels, bnOptions);
  // The main path's resampling conv: 3x3 stride 2 (down), 2x2 transposed (up) or 3x3.
  const resampling = (key: string, cin: number, cout: number) =>
    resample === "up" ? deconv(key, cin, cout) : conv3x3(key, cin, cout, stride);

  const main: ConvBn[] = [];
  if (spec.type === "basic") {
    main.push({ conv: resampling("conv1", inChannels, outChannels), bn: bn("bn1", outChannels) });
    main.push({ conv: conv3x3("conv2", outChannels, outChannels, 1), bn: bn("bn2", outChannels) });
  } else {
    const width = bottleneckWidth(spec, store.fullName(name));
    main.push({ conv: conv1x1("conv1", inChannels, width), bn: bn("bn1", width) });
    main.push({ conv: resampling("conv2", width, width), bn: bn("bn2", width) });
    main.push({ conv: conv1x1("conv3", width, outChannels), bn: bn("bn3", outChannels) });
  }
  let shortcut: ConvBn | null = null;
  if (resample === "up") {
    shortcut = {
      conv: deconv("upsample.0", inChannels, outChannels),
      bn: bn("upsample.1", outChannels),
    };
  } else if (resample === "down" || inChannels !== outChannels) {
    shortcut = {
      conv: conv1x1("downsample.0", inChannels, outChannels, stride),
      bn: bn("downsample.1", outChannels),
    };
  }
  return { main, shortcut };
}

/**
 * A 3x3 convolution with dilation `rate` and `rate` zeros of padding (the ASPP branches), as
 * nine shifted 1x1 products: differentiable with slice and matmul gradients only (the wasm
 * backend has no dilated convolution gradients).
 */
export function applyDilatedConv3x3(
  weight: tf.Tensor4D,
  x: tf.Tensor4D,
  rate: number,
): tf.Tensor4D {
  const [kh, kw, cin, cout] = weight.shape;
  if (kh !== 3 || kw !== 3 || x.shape[3] !== cin) {
    throw new Error(
      `lib/methods/components/residual.ts: dilated conv needs a [3, 3, ${x.shape[3]}, C] kernel, ` +
        `got [${weight.shape}]`,
    );
  }
  return tf.tidy(() => {
    const [batch, height, width] = x.shape;
    const padded = tf.pad(x, [[0, 0], [rate, rate], [rate, rate], [0, 0]]);
    const terms: tf.Tensor[] = [];
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const window = tf.slice(padded, [0, ky * rate, kx * rate, 0], [batch, height, width, cin]);
        const tap = tf.reshape(tf.slice(weight, [ky, kx, 0, 0], [1, 1, cin, cout]), [cin, cout]);
        terms.push(tf.matMul(tf.reshape(window, [-1, cin]), tap));
      }
    }
    return tf.reshape(addN(terms), [batch, height, width, cout]) as tf.Tensor4D;
  });
}
