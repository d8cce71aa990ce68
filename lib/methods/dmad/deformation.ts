/**
 * DMAD's pyramid pre-deformation module (PPDM, the feature-reconstruction form of the official
 * code): an offset network looks at the *input image* and predicts two deformation fields, a
 * coarse one (at 1/8 resolution, bounded by `coarseBound`) and a fine one (at 1/2, bounded by
 * `fineBound`), both upsampled bilinearly to the image. The image is warped by the coarse field,
 * then by the fine one, before the frozen encoder sees it, so normal geometric diversity is
 * absorbed by the deformation instead of the reconstruction. Two more heads predict the inverse
 * fields, which map the anomaly map back onto the input and whose magnitude measures the
 * diversity; training asks the inverse warp to restore the input.
 *
 * Fields are in PyTorch's normalised grid units (`align_corners=True`: the image spans [-1, 1],
 * one pixel is 2 / (n - 1)), as are the losses' weights, so the official constants carry over.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import {
  applyBatchNorm,
  applyConv2d,
  type BatchNorm,
  type BatchNormOptions,
  type Conv2d,
  createBatchNorm,
  createConv2d,
  type VariableStore,
} from "../layers.ts";
import { warpBilinear } from "./warp.ts";

/** A conv (PyTorch default init, with bias unless stated) and the batch norm after it. */
interface ConvBnPair {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;
}

/** One field head: stride-2 conv+BN+ReLU stages, then a 3x3 conv to 2 channels and tanh. */
export interface OffsetHead {
  readonly downs: ConvBnPair[];
  readonly out: Conv2d;
}

/** The offset network and its bounds. */
export interface PreDeformation {
  /** Two CoordConv 3x3 (+4 coordinate channels, no bias) + BN + ReLU at full resolution. */
  readonly stem: [ConvBnPair, ConvBnPair];
  /** Residual block: x + conv1x1(ReLU(BN(conv3x3(ReLU(x))))), then a batch norm. */
  readonly residual: { conv3: Conv2d; bn: BatchNorm; conv1: Conv2d; after: BatchNorm };
  /** Coarse (3 stride-2 stages, 1/8) and fine (1 stage, 1/2) heads, forward and inverse. */
  readonly coarse: OffsetHead;
  readonly fine: OffsetHead;
  readonly coarseInverse: OffsetHead;
  readonly fineInverse: OffsetHead;
  /** Largest coarse / fine offset, normalised grid units. */
  readonly coarseBound: number;
  readonly fineBound: number;
  /** CoordConv's cell size r (the second coordinate pair is the r x r cell's position). */
  readonly cellSize: number;
}

/** Settings of {@linkcode createPreDeformation}. */
export interface PreDeformationOptions {
  /** Hidden channels of the network (official 64). */
  channels: number;
  coarseBound: number;
  fineBound: number;
  cellSize: number;
  bn?: BatchNormOptions;
}

/** Creates the network for RGB images; variables under `<name>.*`. */
export function createPreDeformation(
  store: VariableStore,
  name: string,
  options: PreDeformationOptions,
): PreDeformation {
  const h = options.channels;
  const conv = (key: string, cin: number, cout: number, k: number, stride = 1, bias = true) =>
    createConv2d(store, `${name}.${key}`, {
      inChannels: cin,
      outChannels: cout,
      kernelSize: k,
      stride,
      padding: k === 3 ? 1 : 0,
      bias,
      init: "torch_default",
    });
  const bn = (key: string, c: number) => createBatchNorm(store, `${name}.${key}`, c, options.bn);
  const head = (key: string, stages: number): OffsetHead => ({
    downs: Array.from({ length: stages }, (_, i) => ({
      conv: conv(`${key}.down${i}`, i === 0 ? 2 * h : h, h, 3, 2),
      bn: bn(`${key}.down${i}.bn`, h),
    })),
    out: conv(`${key}.out`, h, 2, 3),
  });
  return {
    stem: [
      { conv: conv("stem0", 3 + 4, h, 3, 1, false), bn: bn("stem0.bn", h) },
      { conv: conv("stem1", h + 4, h, 3, 1, false), bn: bn("stem1.bn", h) },
    ],
    residual: {
      conv3: conv("res.conv3", h, h, 3),
      bn: bn("res.bn", h),
      conv1: conv("res.conv1", h, h, 1),
      after: bn("res.after", h),
    },
    coarse: head("coarse", 3),
    fine: head("fine", 1),
    coarseInverse: head("coarse_inverse", 3),
    fineInverse: head("fine_inverse", 1),
    coarseBound: options.coarseBound,
    fineBound: options.fineBound,
    cellSize: options.cellSize,
  };
}

/**
 * CoordConv's four constant channels [1, H, W, 4] for cell size r: per axis the position
 * within the image minus the position of its r x r cell, and the cell's position, both over
 * [0, 1] and mapped to [-1, 1] (the official `AddCoords2d`).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { coordinateChannels } from "./deformation.ts";
 * const c = coordinateChannels(8, 8, 4).arraySync()[0];
 * // Channel 1 is the row's cell position: -1 in the first cell, 1 in the last.
 * if (c[0][0][1] !== -1 || c[7][7][1] !== 1) throw new Error();
 * ```
 */
export function coordinateChannels(height: number, width: number, cell: number): tf.Tensor4D {
  for (const [n, axis] of [[height, "height"], [width, "width"]] as const) {
    if (n % cell !== 0 || n / cell < 2) {
      throw new Error(
        `lib/methods/dmad/deformation.ts: the image ${axis} ${n} must be a multiple of the ` +
          `CoordConv cell size ${cell}, with at least 2 cells`,
      );
    }
  }
  const axis = (n: number) => {
    const cells = n / cell;
    const fine = new Float32Array(n);
    const coarse = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / cell) / (cells - 1);
      coarse[i] = 2 * c - 1;
      fine[i] = 2 * (i / (n - 1) - c) - 1;
    }
    return { fine, coarse };
  };
  const rows = axis(height);
  const cols = axis(width);
  const values = new Float32Array(height * width * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      values[o] = rows.fine[y];
      values[o + 1] = rows.coarse[y];
      values[o + 2] = cols.fine[x];
      values[o + 3] = cols.coarse[x];
    }
  }
  return tf.tensor4d(values, [1, height, width, 4]);
}

function coordConv(conv: Conv2d, x: tf.Tensor4D, coords: tf.Tensor4D): tf.Tensor4D {
  const tiled = tf.tile(coords, [x.shape[0], 1, 1, 1]);
  return applyConv2d(conv, tf.concat([x, tiled], 3));
}

function applyHead(
  head: OffsetHead,
  x: tf.Tensor4D,
  bound: number,
  size: [number, number],
  training: boolean,
): tf.Tensor4D {
  let y = x;
  for (const { conv, bn } of head.downs) {
    y = tf.relu(applyBatchNorm(bn, applyConv2d(conv, y), training));
  }
  const field = tf.mul(tf.tanh(applyConv2d(head.out, y)), bound) as tf.Tensor4D;
  return tf.image.resizeBilinear(field, size, true);
}

/** Converts normalised (dy, dx) fields to pixels of an H x W map (align_corners=True). */
export function toPixels(field: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() =>
    tf.mul(field, tf.tensor1d([(height - 1) / 2, (width - 1) / 2])) as tf.Tensor4D
  );
}

/** The four fields [B, H, W, 2] (dy, dx), normalised units, at image resolution. */
export type DeformationFields = {
  coarse: tf.Tensor4D;
  fine: tf.Tensor4D;
  coarseInverse: tf.Tensor4D;
  fineInverse: tf.Tensor4D;
};

/** Predicts the four fields for NHWC images (sides multiples of 8 and of the cell size). */
export function predictFields(
  module: PreDeformation,
  images: tf.Tensor4D,
  training: boolean,
): DeformationFields {
  const [, height, width] = images.shape;
  if (height % 8 !== 0 || width % 8 !== 0) {
    throw new Error(
      `lib/methods/dmad/deformation.ts: the coarse field is at 1/8 resolution; image sides ` +
        `must be multiples of 8, got ${height}x${width}`,
    );
  }
  return tf.tidy(() => {
    const coords = coordinateChannels(height, width, module.cellSize);
    let x1 = images as tf.Tensor4D;
    for (const { conv, bn } of module.stem) {
      x1 = tf.relu(applyBatchNorm(bn, coordConv(conv, x1, coords), training));
    }
    const r = module.residual;
    const inner = applyConv2d(
      r.conv1,
      tf.relu(applyBatchNorm(r.bn, applyConv2d(r.conv3, tf.relu(x1)), training)),
    );
    const x2 = tf.concat([applyBatchNorm(r.after, tf.add(x1, inner), training), x1], 3);
    const size: [number, number] = [height, width];
    return {
      coarse: applyHead(module.coarse, x2, module.coarseBound, size, training),
      fine: applyHead(module.fine, x2, module.fineBound, size, training),
      coarseInverse: applyHead(module.coarseInverse, x2, module.coarseBound, size, training),
      fineInverse: applyHead(module.fineInverse, x2, module.fineBound, size, training),
    };
  });
}

/**
 * Warps `x` [B, H, W, C] by a normalised field with the grid clamped to the image; `bound` is
 * the field's largest normalised value.
 */
export function warpNormalized(x: tf.Tensor4D, field: tf.Tensor4D, bound: number): tf.Tensor4D {
  const [, height, width] = x.shape;
  return tf.tidy(() => {
    const pixels = toPixels(field, height, width);
    const maxPixels = bound * Math.max(height - 1, width - 1) / 2;
    return warpBilinear(x, pixels, maxPixels, "clamp");
  });
}

/** Coarse, then fine: the image the encoder sees. */
export function deformForward(
  module: PreDeformation,
  x: tf.Tensor4D,
  fields: DeformationFields,
): tf.Tensor4D {
  return tf.tidy(() =>
    warpNormalized(
      warpNormalized(x, fields.coarse, module.coarseBound),
      fields.fine,
      module.fineBound,
    )
  );
}

/** Fine inverse, then coarse inverse: back from the deformed frame to the input's. */
export function deformBack(
  module: PreDeformation,
  x: tf.Tensor4D,
  fields: DeformationFields,
): tf.Tensor4D {
  return tf.tidy(() =>
    warpNormalized(
      warpNormalized(x, fields.fineInverse, module.fineBound),
      fields.coarseInverse,
      module.coarseBound,
    )
  );
}

/** Per-pixel L2 norm [B, H, W, 1] of a field (a tiny epsilon keeps sqrt's gradient finite). */
export function fieldMagnitude(field: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sqrt(tf.add(tf.sum(tf.square(field), 3, true), 1e-12)) as tf.Tensor4D);
}

/**
 * The official smoothness term: |Σ_channels (o - mean of its 8 neighbours)| over a 3x3 window
 * with zero padding, averaged over pixels.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { smoothnessLoss } from "./deformation.ts";
 * // A constant field is smooth inside; the zero padding makes the border count.
 * const s = smoothnessLoss(tf.zeros([1, 4, 4, 2]));
 * if (s.dataSync()[0] !== 0) throw new Error();
 * ```
 */
export function smoothnessLoss(field: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const k = new Float32Array(9 * 2).fill(-1 / 8);
    k[4 * 2] = 1;
    k[4 * 2 + 1] = 1;
    const filter = tf.tensor4d(k, [3, 3, 2, 1]);
    return tf.mean(tf.abs(tf.conv2d(field, filter, 1, "same"))) as tf.Scalar;
  });
}

/** The named terms of the deformation loss (unweighted except `inverse`, as the official). */
export interface DeformationLoss {
  /** Mean |coarse| + mean |fine| (forward fields only). */
  magnitude: tf.Scalar;
  /** Smoothness of all four fields. */
  smoothness: tf.Scalar;
  /** `inverseWeight` · MSE between the input and its deformed-then-restored version. */
  inverse: tf.Scalar;
}

/** The deformation loss terms for input `x`, its fields and its deformed version. */
export function deformationLoss(
  module: PreDeformation,
  x: tf.Tensor4D,
  deformed: tf.Tensor4D,
  fields: DeformationFields,
  inverseWeight: number,
): DeformationLoss {
  return tf.tidy(() => {
    const magnitude = tf.add(
      tf.mean(fieldMagnitude(fields.coarse)),
      tf.mean(fieldMagnitude(fields.fine)),
    ) as tf.Scalar;
    const smoothness = addN([
      smoothnessLoss(fields.coarse),
      smoothnessLoss(fields.fine),
      smoothnessLoss(fields.coarseInverse),
      smoothnessLoss(fields.fineInverse),
    ]) as tf.Scalar;
    const restored = deformBack(module, deformed, fields);
    const inverse = tf.mul(tf.mean(tf.squaredDifference(restored, x)), inverseWeight) as tf.Scalar;
    return { magnitude, smoothness, inverse };
  });
}

/**
 * The diversity map [B, H, W] in the input's frame, normalised units: |fine inverse| carried
 * back by the coarse inverse field, plus |coarse inverse| (the official `anomaly_os2`).
 */
export function diversityMap(module: PreDeformation, fields: DeformationFields): tf.Tensor3D {
  return tf.tidy(() => {
    const fine = warpNormalized(
      fieldMagnitude(fields.fineInverse),
      fields.coarseInverse,
      module.coarseBound,
    );
    return tf.squeeze(tf.add(fine, fieldMagnitude(fields.coarseInverse)), [3]) as tf.Tensor3D;
  });
}
