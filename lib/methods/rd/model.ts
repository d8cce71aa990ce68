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
import type { RDBlockType, RDConfig } from "./config.ts";

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

function applyConvBn(layer: ConvBn, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
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
  type: RDBlockType;
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
      `lib/methods/rd/model.ts: ${name}: bottleneck blocks need output channels divisible by 4, ` +
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

/** Applies the OCBE to three feature maps -> the embedding [B, H1/8, W1/8, 2·c3]. */
export function applyOCBE(
  ocbe: OCBE,
  features: readonly tf.Tensor4D[],
  training: boolean,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [f1, f2, f3] = features;
    const s1 = tf.relu(
      applyConvBn(ocbe.scale1[1], tf.relu(applyConvBn(ocbe.scale1[0], f1, training)), training),
    );
    const s2 = tf.relu(applyConvBn(ocbe.scale2, f2, training));
    let x = tf.concat([s1, s2, f3], 3);
    for (const block of ocbe.blocks) x = applyResidualBlock(block, x, training);
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
 * [c1 @ H/4, c2 @ H/8, c3 @ H/16].
 */
export function applyDecoder(
  decoder: RDDecoder,
  embedding: tf.Tensor4D,
  training: boolean,
): tf.Tensor4D[] {
  return tf.tidy(() => {
    const outputs: tf.Tensor4D[] = [];
    let x = embedding;
    for (const stage of decoder.stages) {
      for (const block of stage) x = applyResidualBlock(block, x, training);
      outputs.push(x);
    }
    return outputs.reverse();
  });
}

/**
 * Runs the frozen backbone without recording its operations on an active gradient tape.
 *
 * Inside `tf.variableGrads`, every op keeps the tensors its gradient would need until the tape
 * ends, although no gradient ever flows into a frozen encoder; for WRN-50 at 256² and batch 16
 * that is gigabytes (and wasm has a 4 GiB heap). A custom-gradient op's forward pass is not
 * taped, so the backbone runs inside one whose gradient is zero; its three outputs travel
 * flattened in one tensor, because a custom op returns a single tensor.
 */
export function applyFrozen(
  apply: (images: tf.Tensor4D) => tf.Tensor4D[],
  images: tf.Tensor4D,
): tf.Tensor4D[] {
  let shapes: [number, number, number, number][] = [];
  const batch = images.shape[0];
  const packed = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor4D;
    const features = apply(x);
    shapes = features.map((f) => f.shape);
    const value = tf.concat(features.map((f) => tf.reshape(f, [batch, -1])), 1);
    return { value, gradFunc: (dy: tf.Tensor) => tf.zeros(x.shape, dy.dtype) };
  })(images);
  // split's gradient needs none of its inputs, so nothing of `packed` stays on the tape.
  const features = tf.tidy(() => {
    const sizes = shapes.map((shape) => shape[1] * shape[2] * shape[3]);
    return tf.split(packed, sizes, 1).map((part, i) => tf.reshape(part, shapes[i]) as tf.Tensor4D);
  });
  packed.dispose();
  return features;
}
