/**
 * DMAD's bottleneck (the official `BN_layer` with `vq=True`): RD's one-class bottleneck with
 * narrow paths and a quantised deep path. Each encoder scale is reduced to `reduced` channels
 * (3x3 conv + BN + ReLU); scale 1 is brought to stride 16 by two stride-2 convs, scale 2 by one;
 * the deepest map also goes through the vector quantiser at full width. The concatenation
 * [scale 1, scale 2, scale 3 reduced, scale 3 quantised] (3·reduced + c3 channels) feeds RD's
 * residual fusion blocks (the first with stride 2) -> [B, H/32, W/32, 2·c3].
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  applyConvBn,
  applyResidualBlock,
  type ConvBn,
  createResidualBlock,
  type ResidualBlock,
} from "../components/residual.ts";
import {
  type BatchNormOptions,
  createBatchNorm,
  createConv2d,
  type VariableStore,
} from "../layers.ts";
import type { RDConfig } from "../rd/config.ts";
import { createVectorQuantizer, quantize, type VectorQuantizer } from "./memory.ts";

/** The bottleneck's layers. */
export interface DMADBottleneck {
  /** Per scale: c_s -> reduced (3x3, stride 1); torch `conv{s}_r/bn{s}_r`. */
  readonly reduce: [ConvBn, ConvBn, ConvBn];
  /** Scale 1: two stride-2 convs; torch `conv1/bn1`, `conv2/bn2`. */
  readonly scale1: [ConvBn, ConvBn];
  /** Scale 2: one stride-2 conv; torch `conv3/bn3`. */
  readonly scale2: ConvBn;
  /** The memory on the deepest map; torch `vq3`. */
  readonly vq: VectorQuantizer;
  /** RD's fusion blocks; torch `bn_layer.<i>`. */
  readonly blocks: ResidualBlock[];
  readonly embeddingChannels: number;
}

/** Sizes of {@linkcode createDMADBottleneck}. */
export interface DMADBottleneckOptions {
  /** Channels of each reduced path (official 64 = c1 / 4 for WRN-50). */
  reduced: number;
  /** Codewords (official 200). */
  codebookSize: number;
  /** VQ commitment weight (official 0.25). */
  beta: number;
}

/** Creates the bottleneck for encoder channels [c1, c2, c3]; variables under `bn.*`. */
export function createDMADBottleneck(
  store: VariableStore,
  channels: readonly number[],
  config: RDConfig,
  options: DMADBottleneckOptions,
): DMADBottleneck {
  const [c1, c2, c3] = channels;
  const r = options.reduced;
  const bnOptions: BatchNormOptions = { momentum: config.bnMomentum, epsilon: config.bnEpsilon };
  const convBn = (conv: string, bn: string, cin: number, stride: number): ConvBn => ({
    conv: createConv2d(store, `bn.${conv}`, {
      inChannels: cin,
      outChannels: r,
      kernelSize: 3,
      stride,
      padding: 1,
    }),
    bn: createBatchNorm(store, `bn.${bn}`, r, bnOptions),
  });
  const embeddingChannels = 2 * c3;
  const blocks: ResidualBlock[] = [];
  for (let i = 0; i < config.bottleneckBlocks; i++) {
    blocks.push(createResidualBlock(store, `bn.bn_layer.${i}`, {
      type: config.blockType,
      inChannels: i === 0 ? 3 * r + c3 : embeddingChannels,
      outChannels: embeddingChannels,
      resample: i === 0 ? "down" : "none",
      widthFactor: config.widthFactor,
    }, bnOptions));
  }
  return {
    reduce: [
      convBn("conv1_r", "bn1_r", c1, 1),
      convBn("conv2_r", "bn2_r", c2, 1),
      convBn("conv3_r", "bn3_r", c3, 1),
    ],
    scale1: [convBn("conv1", "bn1", r, 2), convBn("conv2", "bn2", r, 2)],
    scale2: convBn("conv3", "bn3", r, 2),
    vq: createVectorQuantizer(store, "bn.vq3", options.codebookSize, c3, options.beta),
    blocks,
    embeddingChannels,
  };
}

/** The embedding and the VQ loss. */
export interface BottleneckOutput {
  embedding: tf.Tensor4D;
  vqLoss: tf.Scalar;
}

/** Applies the bottleneck to three feature maps (batch norm in training or eval mode). */
export function applyDMADBottleneck(
  bottleneck: DMADBottleneck,
  features: readonly tf.Tensor4D[],
  training: boolean,
): BottleneckOutput {
  return tf.tidy(() => {
    const [f1, f2, f3] = features;
    const { quantized, loss } = quantize(bottleneck.vq, f3);
    const cbr = (layer: ConvBn, x: tf.Tensor4D) => tf.relu(applyConvBn(layer, x, training));
    const r1 = cbr(bottleneck.reduce[0], f1);
    const r2 = cbr(bottleneck.reduce[1], f2);
    const r3 = cbr(bottleneck.reduce[2], f3);
    const s1 = cbr(bottleneck.scale1[1], cbr(bottleneck.scale1[0], r1));
    const s2 = cbr(bottleneck.scale2, r2);
    let x = tf.concat([s1, s2, r3, quantized], 3) as tf.Tensor4D;
    for (const block of bottleneck.blocks) x = applyResidualBlock(block, x, training);
    return { embedding: x, vqLoss: loss };
  });
}
