/**
 * DeSTSeg's trainable networks, following the original `model/destseg.py`:
 * - the student: a randomly initialised ResNet encoder of the teacher's shape (stem, stages 1-3,
 *   and a stage 4 at stride 32 with twice stage 3's width) and a decoder of residual stages from
 *   stride 32 back to 4, each after a bilinear 2x upsampling, outputting the teacher's three
 *   feature shapes;
 * - the segmentation head: residual blocks on the concatenated teacher-student products, an
 *   ASPP (1x1, three dilated 3x3, image pooling; projected by 1x1), conv3x3-BN-ReLU, a 1x1 conv
 *   to one channel and a sigmoid.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { torchMaxPool2d } from "../../backbones/layers.ts";
import {
  applyConvBn,
  applyDilatedConv3x3,
  applyResidualBlock,
  type ConvBn,
  createResidualBlock,
  type ResidualBlock,
} from "../components/residual.ts";
import {
  applyBatchNorm,
  applyConv2d,
  type BatchNormOptions,
  type Conv2d,
  createBatchNorm,
  createConv2d,
  type VariableStore,
} from "../layers.ts";
import type { DeSTSegConfig } from "./config.ts";

/** Bilinear resize with half-pixel centres (PyTorch's `align_corners=False`). */
export function resizeTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.image.resizeBilinear(x, [height, width], false, true);
}

function stage(
  store: VariableStore,
  name: string,
  cin: number,
  cout: number,
  blocks: number,
  down: boolean,
  bn: BatchNormOptions,
): ResidualBlock[] {
  return Array.from({ length: blocks }, (_, i) =>
    createResidualBlock(store, `${name}.${i}`, {
      type: "basic",
      inChannels: i === 0 ? cin : cout,
      outChannels: cout,
      resample: down && i === 0 ? "down" : "none",
      widthFactor: 1,
    }, bn));
}

function applyStage(blocks: ResidualBlock[], x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  let y = x;
  for (const block of blocks) y = applyResidualBlock(block, y, training);
  return y;
}

function convBn(
  store: VariableStore,
  name: string,
  cin: number,
  cout: number,
  kernelSize: number,
  stride: number,
  bn: BatchNormOptions,
): ConvBn {
  return {
    conv: createConv2d(store, `${name}.0`, {
      inChannels: cin,
      outChannels: cout,
      kernelSize,
      stride,
      padding: Math.floor(kernelSize / 2),
    }),
    bn: createBatchNorm(store, `${name}.1`, cout, bn),
  };
}

/** The denoising student. */
export interface Student {
  stem: ConvBn;
  encoder: ResidualBlock[][];
  decoder: ResidualBlock[][];
}

/** The student's outputs. */
export interface StudentOutput {
  /** Decoder outputs at strides 4, 8, 16 with the teacher's channels. */
  features: tf.Tensor4D[];
  /** The encoder's deepest map (stride 32). */
  deepest: tf.Tensor4D;
}

/** Creates the student for a teacher with `channels` at strides 4, 8, 16. */
export function createStudent(
  store: VariableStore,
  channels: readonly number[],
  config: DeSTSegConfig,
): Student {
  const bn = { momentum: config.bnMomentum, epsilon: config.bnEpsilon };
  const [c1, c2, c3] = channels;
  const c4 = 2 * c3;
  const stem = convBn(store, "student.encoder.stem", 3, c1, 7, 2, bn);
  const widths = [c1, c1, c2, c3, c4];
  const encoder = [1, 2, 3, 4].map((s) =>
    stage(
      store,
      `student.encoder.layer${s}`,
      widths[s - 1],
      widths[s],
      config.encoderBlocks,
      s > 1,
      bn,
    )
  );
  // decoder_layer4 (c4 -> c4), layer3 (c4 -> c3), layer2 (c3 -> c2), layer1 (c2 -> c1).
  const plan: [number, number][] = [[c4, c4], [c4, c3], [c3, c2], [c2, c1]];
  const decoder = plan.map(([cin, cout], i) =>
    stage(store, `student.decoder.layer${4 - i}`, cin, cout, config.decoderBlocks, false, bn)
  );
  return { stem, encoder, decoder };
}

/** Runs the student on images (training or eval batch norm). */
export function applyStudent(
  student: Student,
  images: tf.Tensor4D,
  training: boolean,
): StudentOutput {
  return tf.tidy(() => {
    let x = tf.relu(applyConvBn(student.stem, images, training));
    x = torchMaxPool2d(x, 3, 2, 1);
    const skips: tf.Tensor4D[] = [];
    for (const layers of student.encoder) {
      x = applyStage(layers, x, training);
      skips.push(x);
    }
    const deepest = x;
    let y = applyStage(student.decoder[0], deepest, training);
    const features: tf.Tensor4D[] = [];
    for (let i = 1; i < 4; i++) {
      const target = skips[3 - i];
      y = applyStage(student.decoder[i], resizeTo(y, target.shape[1], target.shape[2]), training);
      features.unshift(y);
    }
    return { features, deepest };
  });
}

/** The segmentation head, in two parameter groups: `res` and `head`. */
export interface SegmentationHead {
  res: ResidualBlock[];
  aspp: { branches: ConvBn[]; pooling: ConvBn; project: ConvBn };
  conv: ConvBn;
  out: Conv2d;
}

/** Creates the segmentation head over `inChannels` (the sum of the teacher's channels). */
export function createSegmentationHead(
  store: VariableStore,
  inChannels: number,
  config: DeSTSegConfig,
): SegmentationHead {
  const bn = { momentum: config.bnMomentum, epsilon: config.bnEpsilon };
  const w = config.segWidth;
  const res = stage(store, "seg.res", inChannels, w, config.segBlocks, false, bn);
  const branches = [
    convBn(store, "seg.head.aspp.0", w, w, 1, 1, bn),
    ...config.asppRates.map((_, i) => convBn(store, `seg.head.aspp.${i + 1}`, w, w, 3, 1, bn)),
  ];
  const pooling = convBn(store, "seg.head.aspp.pool", w, w, 1, 1, bn);
  const project = convBn(store, "seg.head.aspp.project", w * (branches.length + 1), w, 1, 1, bn);
  const conv = convBn(store, "seg.head.conv", w, w, 3, 1, bn);
  const out = createConv2d(store, "seg.head.out", {
    inChannels: w,
    outChannels: 1,
    kernelSize: 1,
    bias: true,
    init: "torch_default",
  });
  return { res, aspp: { branches, pooling, project }, conv, out };
}

/**
 * Runs the head on [B, h, w, Σc] -> anomaly probabilities [B, h, w, 1]. Dilation rates are
 * scaled from 256² to the input size (`scale` = input side / 256), at least 1.
 */
export function applySegmentationHead(
  head: SegmentationHead,
  x: tf.Tensor4D,
  rates: readonly number[],
  scale: number,
  training: boolean,
): tf.Tensor4D {
  return tf.tidy(() => {
    const y = applyStage(head.res, x, training);
    const { branches, pooling, project } = head.aspp;
    const outputs = branches.map((branch, i) => {
      if (i === 0) return tf.relu(applyConvBn(branch, y, training));
      const rate = Math.max(1, Math.round(rates[i - 1] * scale));
      const conv = applyDilatedConv3x3(branch.conv.weight as tf.Tensor4D, y, rate);
      return tf.relu(applyBatchNorm(branch.bn, conv, training));
    });
    const pooled = tf.relu(applyConvBn(pooling, tf.mean(y, [1, 2], true) as tf.Tensor4D, training));
    outputs.push(tf.tile(pooled, [1, y.shape[1], y.shape[2], 1]) as tf.Tensor4D);
    const projected = tf.relu(applyConvBn(project, tf.concat(outputs, 3), training));
    const z = tf.relu(applyConvBn(head.conv, projected, training));
    return tf.sigmoid(applyConv2d(head.out, z));
  });
}
