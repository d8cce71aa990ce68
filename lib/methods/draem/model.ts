/**
 * DRAEM's two networks, as the original `model_unet.py` (widths scaled by the config):
 * - the reconstructive autoencoder: five conv blocks (each conv3x3-BN-ReLU twice) with 2x2 max
 *   pooling between them (widths b, 2b, 4b, 8b, 8b), a decoder of four bilinear 2x upsamplings
 *   each followed by conv-BN-ReLU and a conv block, and a 3x3 output conv; no skip connections;
 * - the discriminative U-Net on [reconstruction, input]: six conv blocks (b, 2b, 4b, 8b, 8b, 8b,
 *   five poolings), a decoder that concatenates each upsampled map with the encoder's block of
 *   the same size, and a 3x3 conv to two channels (normal, anomalous).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  applyBatchNorm,
  applyConv2d,
  type BatchNorm,
  type Conv2d,
  createBatchNorm,
  createConv2d,
  type VariableStore,
} from "../layers.ts";
import type { DRAEMConfig } from "./config.ts";

interface ConvBnRelu {
  conv: Conv2d;
  bn: BatchNorm;
}

/** A list of conv3x3-BN-ReLU layers applied in order. */
type Block = ConvBnRelu[];

function convBnRelu(
  store: VariableStore,
  name: string,
  cin: number,
  cout: number,
  config: DRAEMConfig,
): ConvBnRelu {
  return {
    conv: createConv2d(store, `${name}.conv`, {
      inChannels: cin,
      outChannels: cout,
      kernelSize: 3,
      padding: 1,
      bias: true,
      init: "dcgan",
    }),
    bn: createBatchNorm(store, `${name}.bn`, cout, {
      momentum: config.bnMomentum,
      epsilon: config.bnEpsilon,
      weightStd: 0.02,
    }),
  };
}

function block(
  store: VariableStore,
  name: string,
  widths: number[],
  config: DRAEMConfig,
): Block {
  return widths.slice(1).map((w, i) => convBnRelu(store, `${name}.${i}`, widths[i], w, config));
}

function applyBlock(layers: Block, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    for (const { conv, bn } of layers) {
      y = tf.relu(applyBatchNorm(bn, applyConv2d(conv, y), training));
    }
    return y;
  });
}

const pool = (x: tf.Tensor4D) => tf.maxPool(x, 2, 2, "valid");
// nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
const upsample = (x: tf.Tensor4D) =>
  tf.image.resizeBilinear(x, [x.shape[1] * 2, x.shape[2] * 2], true);

function outputConv(store: VariableStore, name: string, cin: number, cout: number): Conv2d {
  return createConv2d(store, name, {
    inChannels: cin,
    outChannels: cout,
    kernelSize: 3,
    padding: 1,
    bias: true,
    init: "dcgan",
  });
}

/** The reconstructive autoencoder. */
export interface Reconstructive {
  encoder: Block[];
  up: ConvBnRelu[];
  decoder: Block[];
  out: Conv2d;
}

/** What the reconstructive network computes: the encoder's blocks and the reconstruction. */
export interface ReconstructiveOutput {
  /** Encoder block outputs, strides 1, 2, 4, 8, 16 (widths b, 2b, 4b, 8b, 8b). */
  encoder: tf.Tensor4D[];
  /** The reconstructed image, NHWC, 3 channels. */
  reconstruction: tf.Tensor4D;
}

/** Creates the reconstructive autoencoder (`draem.rec.*`). */
export function createReconstructive(store: VariableStore, config: DRAEMConfig): Reconstructive {
  const b = config.reconstructiveWidth;
  const widths = [3, b, 2 * b, 4 * b, 8 * b, 8 * b];
  const encoder = widths.slice(1).map((w, i) =>
    block(store, `rec.encoder.block${i + 1}`, [widths[i], w, w], config)
  );
  const ups = [8 * b, 4 * b, 2 * b, b];
  const outs = [4 * b, 2 * b, b, b];
  const up = ups.map((w, i) =>
    convBnRelu(store, `rec.decoder.up${i + 1}`, i === 0 ? 8 * b : outs[i - 1], w, config)
  );
  const decoder = ups.map((w, i) =>
    block(store, `rec.decoder.db${i + 1}`, [w, w, outs[i]], config)
  );
  return { encoder, up, decoder, out: outputConv(store, "rec.decoder.fin_out", b, 3) };
}

/** Runs the reconstructive network. */
export function applyReconstructive(
  net: Reconstructive,
  x: tf.Tensor4D,
  training: boolean,
): ReconstructiveOutput {
  const encoder: tf.Tensor4D[] = [];
  let y = x;
  net.encoder.forEach((layers, i) => {
    if (i > 0) y = pool(y);
    y = applyBlock(layers, y, training);
    encoder.push(y);
  });
  const reconstruction = tf.tidy(() => {
    let z = encoder[encoder.length - 1];
    net.up.forEach((layer, i) => {
      z = applyBlock([layer], upsample(z), training);
      z = applyBlock(net.decoder[i], z, training);
    });
    return applyConv2d(net.out, z);
  });
  return { encoder, reconstruction };
}

/** The discriminative U-Net. */
export interface Discriminative {
  encoder: Block[];
  up: ConvBnRelu[];
  decoder: Block[];
  out: Conv2d;
}

/** Creates the discriminative U-Net (`draem.seg.*`) on 6 input channels, 2 outputs. */
export function createDiscriminative(store: VariableStore, config: DRAEMConfig): Discriminative {
  const b = config.discriminativeWidth;
  const widths = [6, b, 2 * b, 4 * b, 8 * b, 8 * b, 8 * b];
  const encoder = widths.slice(1).map((w, i) =>
    block(store, `seg.encoder.block${i + 1}`, [widths[i], w, w], config)
  );
  // Decoder stages from the deepest: (upsampled in, up out, skip width, block out).
  const stages = [
    [8 * b, 8 * b, 8 * b, 8 * b],
    [8 * b, 4 * b, 8 * b, 4 * b],
    [4 * b, 2 * b, 4 * b, 2 * b],
    [2 * b, b, 2 * b, b],
    [b, b, b, b],
  ];
  const up = stages.map(([cin, cout], i) =>
    convBnRelu(store, `seg.decoder.up${i}`, cin, cout, config)
  );
  const decoder = stages.map(([, cup, skip, cout], i) =>
    block(store, `seg.decoder.db${i}`, [cup + skip, cout, cout], config)
  );
  return { encoder, up, decoder, out: outputConv(store, "seg.decoder.fin_out", b, 2) };
}

/** Runs the U-Net on [B, H, W, 6] -> logits [B, H, W, 2]. */
export function applyDiscriminative(
  net: Discriminative,
  x: tf.Tensor4D,
  training: boolean,
): tf.Tensor4D {
  return tf.tidy(() => {
    const skips: tf.Tensor4D[] = [];
    let y = x;
    net.encoder.forEach((layers, i) => {
      if (i > 0) y = pool(y);
      y = applyBlock(layers, y, training);
      skips.push(y);
    });
    let z = skips[skips.length - 1];
    net.up.forEach((layer, i) => {
      const up = applyBlock([layer], upsample(z), training);
      z = applyBlock(net.decoder[i], tf.concat([up, skips[skips.length - 2 - i]], 3), training);
    });
    return applyConv2d(net.out, z);
  });
}
