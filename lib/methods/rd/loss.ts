/**
 * RD's training loss: per scale, 1 - cosine similarity between the encoder's and the
 * decoder's feature maps each flattened to one C·H·W vector per image, averaged over the
 * batch and summed over scales (the official code's `loss_fucntion`).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Norms below this are clamped, as PyTorch's `cosine_similarity` (eps 1e-8). */
export const COSINE_EPSILON = 1e-8;

/**
 * Cosine similarity along `axis` between `a` and `b` of equal shape, with each norm clamped
 * to at least {@linkcode COSINE_EPSILON} (PyTorch's current `F.cosine_similarity`).
 */
export function cosineSimilarity(a: tf.Tensor, b: tf.Tensor, axis: number): tf.Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(
      `lib/methods/rd/loss.ts: cosine similarity of different shapes [${a.shape}] and [${b.shape}]`,
    );
  }
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(a, b), axis);
    const normA = tf.maximum(tf.norm(a, "euclidean", axis), COSINE_EPSILON);
    const normB = tf.maximum(tf.norm(b, "euclidean", axis), COSINE_EPSILON);
    return tf.div(dot, tf.mul(normA, normB));
  });
}

/** Per image, 1 - cosine between the flattened maps `a` and `b` ([B, H, W, C]) -> [B]. */
export function flatCosineDistance(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = a.shape[0];
    const cos = cosineSimilarity(tf.reshape(a, [batch, -1]), tf.reshape(b, [batch, -1]), 1);
    return tf.sub(1, cos) as tf.Tensor1D;
  });
}

/**
 * The RD loss of encoder features and their reconstructions (same order and shapes).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { rdLoss } from "./loss.ts";
 * const f = [tf.ones([2, 4, 4, 3]) as tf.Tensor4D];
 * const loss = rdLoss(f, f); // 0: a perfect reconstruction
 * ```
 */
export function rdLoss(
  encoder: readonly tf.Tensor4D[],
  decoder: readonly tf.Tensor4D[],
): tf.Scalar {
  if (encoder.length === 0 || encoder.length !== decoder.length) {
    throw new Error(
      `lib/methods/rd/loss.ts: need as many decoder maps as encoder maps (> 0), got ` +
        `${decoder.length} and ${encoder.length}`,
    );
  }
  return tf.tidy(() => {
    const perScale = encoder.map((e, s) => tf.mean(flatCosineDistance(e, decoder[s])));
    return tf.addN(perScale) as tf.Scalar;
  });
}
