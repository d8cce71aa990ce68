/**
 * DMAD's Pyramid Deformation Module (PDM), feature-level form: per scale, an offset head
 * looks at the target (frozen encoder) features, the decoder's reconstruction and (below the
 * coarsest scale) the 2x-upsampled offsets of the coarser scale, and predicts a deformation
 * field (dy, dx) bounded to ±maxOffset by a tanh; the reconstruction is warped by it toward
 * the target. Coarse to fine: the deep scale's field conditions the finer ones. Each head's
 * last conv starts at zero, so training starts from the identity warp.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { applyConv2d, type Conv2d, createConv2d, type VariableStore } from "../layers.ts";
import { upsampleNearest2x, warpBilinear } from "./warp.ts";

/** One scale's offset head: conv3x3 + ReLU + conv3x3 -> 2 channels. */
export interface OffsetHead {
  readonly hidden: Conv2d;
  readonly out: Conv2d;
}

/** The module: one head per scale, in encoder order (finest first). */
export interface PyramidDeformation {
  readonly heads: OffsetHead[];
  readonly maxOffset: number;
}

/** What the module gives: warped reconstructions and their deformation fields. */
export interface Deformed {
  /** Warped reconstructions, same shapes as the inputs. */
  warped: tf.Tensor4D[];
  /** [B, h_s, w_s, 2] fields (dy, dx) in pixels of each scale. */
  offsets: tf.Tensor4D[];
}

/** Creates the heads for `channels` (encoder order); variables under `<name>.<s>.*`. */
export function createPyramidDeformation(
  store: VariableStore,
  name: string,
  channels: readonly number[],
  hiddenChannels: number,
  maxOffset: number,
): PyramidDeformation {
  const last = channels.length - 1;
  const heads = channels.map((c, s) => {
    const inChannels = 2 * c + (s < last ? 2 : 0);
    const hidden = createConv2d(store, `${name}.${s}.hidden`, {
      inChannels,
      outChannels: hiddenChannels,
      kernelSize: 3,
      padding: 1,
      bias: true,
    });
    const weight = store.create(
      `${name}.${s}.out.weight`,
      new Float32Array(9 * hiddenChannels * 2),
      [3, 3, hiddenChannels, 2],
      true,
    ) as tf.Variable<tf.Rank.R4>;
    const bias = store.create(
      `${name}.${s}.out.bias`,
      new Float32Array(2),
      [2],
      true,
    ) as tf.Variable<
      tf.Rank.R1
    >;
    return { hidden, out: { weight, bias, stride: 1, padding: 1 } };
  });
  return { heads, maxOffset };
}

/**
 * Deforms each reconstruction toward its target, coarsest scale first. Scale s + 1 must be
 * half the size of scale s.
 */
export function applyPyramidDeformation(
  module: PyramidDeformation,
  targets: readonly tf.Tensor4D[],
  reconstructions: readonly tf.Tensor4D[],
): Deformed {
  if (targets.length !== module.heads.length || reconstructions.length !== targets.length) {
    throw new Error(
      `lib/methods/dmad/deformation.ts: need ${module.heads.length} targets and reconstructions, ` +
        `got ${targets.length} and ${reconstructions.length}`,
    );
  }
  return tf.tidy(() => {
    const k = module.maxOffset;
    const warped: tf.Tensor4D[] = new Array(targets.length);
    const offsets: tf.Tensor4D[] = new Array(targets.length);
    for (let s = targets.length - 1; s >= 0; s--) {
      const inputs: tf.Tensor4D[] = [targets[s], reconstructions[s]];
      // A field of the coarser scale, in this scale's pixels (twice as many).
      if (s < targets.length - 1) inputs.push(tf.mul(upsampleNearest2x(offsets[s + 1]), 2));
      const head = module.heads[s];
      const hidden = tf.relu(applyConv2d(head.hidden, tf.concat(inputs, 3)));
      offsets[s] = tf.mul(tf.tanh(applyConv2d(head.out, hidden)), k) as tf.Tensor4D;
      warped[s] = warpBilinear(reconstructions[s], offsets[s], k);
    }
    return { warped, offsets };
  });
}

/** Mean total variation of the fields (neighbouring offsets should agree), summed over scales. */
export function deformationSmoothness(offsets: readonly tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() =>
    tf.addN(offsets.map((o) => {
      const [b, h, w, c] = o.shape;
      const terms: tf.Tensor[] = [];
      if (h > 1) {
        terms.push(tf.mean(tf.abs(tf.sub(
          tf.slice(o, [0, 1, 0, 0], [b, h - 1, w, c]),
          tf.slice(o, [0, 0, 0, 0], [b, h - 1, w, c]),
        ))));
      }
      if (w > 1) {
        terms.push(tf.mean(tf.abs(tf.sub(
          tf.slice(o, [0, 0, 1, 0], [b, h, w - 1, c]),
          tf.slice(o, [0, 0, 0, 0], [b, h, w - 1, c]),
        ))));
      }
      return terms.length > 0 ? tf.addN(terms) : tf.zeros([]);
    })) as tf.Scalar
  );
}

/** Mean squared offset, summed over scales. */
export function deformationMagnitude(offsets: readonly tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() => tf.addN(offsets.map((o) => tf.mean(tf.square(o)))) as tf.Scalar);
}
