/**
 * RD's trainable networks, mirroring the official code (names follow its PyTorch modules so
 * checkpoints map one to one):
 * - the one-class bottleneck embedding (OCBE, "bn"): scale 1 -> two 3x3 stride-2 conv+BN+ReLU
 *   (c1 -> c2 -> c3), scale 2 -> one (c2 -> c3), concatenated with scale 3 (3·c3 channels at
 *   stride 16), then residual blocks ("bn_layer", the first with stride 2) -> [B, H/32, W/32, 2·c3];
 * - the decoder: three stages H/32 -> H/16 (c3) -> H/8 (c2) -> H/4 (c1); each stage's first
 *   block upsamples with 2x2 stride-2 transposed convs on both its main path and its shortcut.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type BatchNormOptions,
  createBatchNorm,
  createConv2d,
  type VariableStore,
} from "../layers.ts";
import {
  applyConvBn,
  applyResidualBlock,
  type ConvBn,
  createResidualBlock,
  type ResidualBlock,
} from "../components/residual.ts";
import { RECOMPUTE_MIN_ELEMENTS, recomputeInBackward } from "../components/recompute.ts";
import type { RDConfig } from "./config.ts";

export { applyFrozen } from "../components/frozen.ts";
export {
  applyResidualBlock,
  type BlockSpec,
  type ConvBn,
  createResidualBlock,
  type ResidualBlock,
} from "../components/residual.ts";

/** The one-class bottleneck embedding. */
export interface OCBE {
  /** Scale 1: c1 -> c2 (stride 2) -> c3 (stride 2); torch `conv1/bn1`, `conv2/bn2`. */
  readonly scale1: [ConvBn, ConvBn];
  /** Scale 2: c2 -> c3 (stride 2); torch `conv3/bn3`. */
  readonly scale2: ConvBn;
  /** Fusion blocks on the 3·c3 concatenation; torch `bn_layer.<i>`. */
  readonly blocks: ResidualBlock[];
  /** Channels of the embedding, 2·c3. */
  readonly embeddingChannels: number;
}

function assertThreeScales(channels: readonly number[], where: string): [number, number, number] {
  if (channels.length !== 3 || !channels.every((c) => Number.isInteger(c) && c > 0)) {
    throw new Error(
      `lib/methods/rd/model.ts: ${where} needs exactly three positive channel counts, got [${channels}]`,
    );
  }
  return [channels[0], channels[1], channels[2]];
}

function bnOptionsOf(config: RDConfig): BatchNormOptions {
  return { momentum: config.bnMomentum, epsilon: config.bnEpsilon };
}

/** Creates the OCBE for encoder channels [c1, c2, c3]; variables under `bn.*`. */
export function createOCBE(
  store: VariableStore,
  channels: readonly number[],
  config: RDConfig,
): OCBE {
  const [c1, c2, c3] = assertThreeScales(channels, "the OCBE");
  const bnOptions = bnOptionsOf(config);
  const convBn = (conv: string, bn: string, cin: number, cout: number): ConvBn => ({
    conv: createConv2d(store, `bn.${conv}`, {
      inChannels: cin,
      outChannels: cout,
      kernelSize: 3,
      stride: 2,
      padding: 1,
    }),
    bn: createBatchNorm(store, `bn.${bn}`, cout, bnOptions),
  });
  const embeddingChannels = 2 * c3;
  const blocks: ResidualBlock[] = [];
  for (let i = 0; i < config.bottleneckBlocks; i++) {
    blocks.push(createResidualBlock(store, `bn.bn_layer.${i}`, {
      type: config.blockType,
      inChannels: i === 0 ? 3 * c3 : embeddingChannels,
      outChannels: embeddingChannels,
      resample: i === 0 ? "down" : "none",
      widthFactor: config.widthFactor,
    }, bnOptions));
  }
  return {
    scale1: [convBn("conv1", "bn1", c1, c2), convBn("conv2", "bn2", c2, c3)],
    scale2: convBn("conv3", "bn3", c2, c3),
    blocks,
    embeddingChannels,
  };
}

/**
 * Checks that three feature maps have the OCBE's channels and strides in ratio 1 : 2 : 4 with
 * the finest side divisible by 8 (so the embedding and its decoder reconstruction line up).
 */
export function assertRDFeatures(
  features: readonly tf.Tensor4D[],
  channels: readonly number[],
  what: string,
): void {
  if (features.length !== 3) {
    throw new Error(
      `lib/methods/rd/model.ts: ${what}: expected 3 feature maps, got ${features.length}`,
    );
  }
  const [h, w] = [features[0].shape[1], features[0].shape[2]];
  if (h % 8 !== 0 || w % 8 !== 0) {
    throw new Error(
      `lib/methods/rd/model.ts: ${what}: the finest map is ${h}x${w}; RD needs both sides divisible ` +
        `by 8 (input side divisible by 32)`,
    );
  }
  features.forEach((f, s) => {
    const expected = [features[0].shape[0], h >> s, w >> s, channels[s]];
    if (f.rank !== 4 || f.shape.some((d, i) => d !== expected[i])) {
      throw new Error(
        `lib/methods/rd/model.ts: ${what}: scale ${s + 1} is [${f.shape}], expected [${expected}]`,
      );
    }
  });
}

/** The variables a residual block reads (trainable) and updates (running statistics). */
function blockVariables(block: ResidualBlock): { trainable: tf.Variable[]; state: tf.Variable[] } {
  const trainable: tf.Variable[] = [];
  const state: tf.Variable[] = [];
  for (const { conv, bn } of block.shortcut ? [...block.main, block.shortcut] : block.main) {
    trainable.push(conv.weight);
    if (conv.bias) trainable.push(conv.bias);
    trainable.push(bn.weight, bn.bias);
    state.push(bn.runningMean, bn.runningVar);
  }
  return { trainable, state };
}

/** A residual block, recomputed in the backward pass when training on a large input. */
function applyBlock(
  block: ResidualBlock,
  x: tf.Tensor4D,
  training: boolean,
  recomputeMinElements: number,
): tf.Tensor4D {
  if (!training || x.size < recomputeMinElements) return applyResidualBlock(block, x, training);
  return recomputeInBackward(x, {
    apply: (input) => applyResidualBlock(block, input, true),
    ...blockVariables(block),
  });
}

/**
 * Applies the OCBE to three feature maps -> the embedding [B, H1/8, W1/8, 2·c3].
 * `recomputeMinElements` (default {@linkcode RECOMPUTE_MIN_ELEMENTS}) only trades memory for
 * time; it never changes the result.
 */
export function applyOCBE(
  ocbe: OCBE,
  features: readonly tf.Tensor4D[],
  training: boolean,
  recomputeMinElements: number = RECOMPUTE_MIN_ELEMENTS,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [f1, f2, f3] = features;
    const s1 = tf.relu(
      applyConvBn(ocbe.scale1[1], tf.relu(applyConvBn(ocbe.scale1[0], f1, training)), training),
    );
    const s2 = tf.relu(applyConvBn(ocbe.scale2, f2, training));
    let x = tf.concat([s1, s2, f3], 3);
    for (const block of ocbe.blocks) x = applyBlock(block, x, training, recomputeMinElements);
    return x;
  });
}

/** The decoder: three stages of residual blocks, deepest first. */
export interface RDDecoder {
  /** torch `decoder.layer1..3`: to c3 @ H/16, c2 @ H/8, c1 @ H/4. */
  readonly stages: [ResidualBlock[], ResidualBlock[], ResidualBlock[]];
}

/** Creates the decoder reconstructing encoder channels [c1, c2, c3]; variables under `decoder.*`. */
export function createDecoder(
  store: VariableStore,
  channels: readonly number[],
  config: RDConfig,
): RDDecoder {
  const [c1, c2, c3] = assertThreeScales(channels, "the decoder");
  const bnOptions = bnOptionsOf(config);
  const outputs = [c3, c2, c1];
  let inChannels = 2 * c3;
  const stages = outputs.map((out, s) => {
    const blocks: ResidualBlock[] = [];
    for (let i = 0; i < config.decoderBlocks[s]; i++) {
      blocks.push(createResidualBlock(store, `decoder.layer${s + 1}.${i}`, {
        type: config.blockType,
        inChannels: i === 0 ? inChannels : out,
        outChannels: out,
        resample: i === 0 ? "up" : "none",
        widthFactor: config.widthFactor,
      }, bnOptions));
    }
    inChannels = out;
    return blocks;
  });
  return { stages: stages as RDDecoder["stages"] };
}

/**
 * Decodes the embedding into the three reconstructed encoder maps, returned in encoder order
 * [c1 @ H/4, c2 @ H/8, c3 @ H/16]. `recomputeMinElements`: as in {@linkcode applyOCBE}.
 */
export function applyDecoder(
  decoder: RDDecoder,
  embedding: tf.Tensor4D,
  training: boolean,
  recomputeMinElements: number = RECOMPUTE_MIN_ELEMENTS,
): tf.Tensor4D[] {
  return tf.tidy(() => {
    const outputs: tf.Tensor4D[] = [];
    let x = embedding;
    for (const stage of decoder.stages) {
      for (const block of stage) x = applyBlock(block, x, training, recomputeMinElements);
      outputs.push(x);
    }
    return outputs.reverse();
  });
}
