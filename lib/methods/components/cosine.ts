/**
 * Cosine similarity and distances, as PyTorch's `F.cosine_similarity` (norms clamped).
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
      `lib/methods/components/cosine.ts: cosine similarity of different shapes [${a.shape}] and [${b.shape}]`,
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

/** 1 - cosine over channels at each pixel: [B, h, w, C] x2 -> [B, h, w]. */
export function cosineDistanceMap(encoder: tf.Tensor4D, decoder: tf.Tensor4D): tf.Tensor3D {
  return tf.tidy(() => tf.sub(1, cosineSimilarity(encoder, decoder, 3)) as tf.Tensor3D);
}
