/**
 * DMAD's information-compression module in the bottleneck: a bank of N trainable prototypes;
 * each bottleneck pixel is replaced by a softmax-attention read-out of the bank (cosine
 * similarity over a temperature), so the decoder only sees combinations of normal prototypes
 * and anomalies are hard to reconstruct (MemAE-style memory, read by attention).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { seededNormal, type VariableStore } from "../layers.ts";

/** Norms below this are clamped before the cosine attention. */
const NORM_EPSILON = 1e-8;

/** The memory bank: `prototypes` [N, D]. */
export interface Memory {
  readonly prototypes: tf.Variable<tf.Rank.R2>;
  readonly temperature: number;
}

/** What a read gives: the read-out, same shape as the query, and its attention statistics. */
export interface MemoryRead {
  /** [B, h, w, D]: attention-weighted prototypes. */
  readout: tf.Tensor4D;
  /** Mean entropy (nats) of the attention over prototypes, a scalar. */
  entropy: tf.Scalar;
}

/** Creates `size` prototypes of `channels` (N(0, 1), seeded) as `<name>.prototypes`. */
export function createMemory(
  store: VariableStore,
  name: string,
  size: number,
  channels: number,
  temperature: number,
): Memory {
  const prototypes = store.create(
    `${name}.prototypes`,
    seededNormal(size * channels, 1, store.seedFor(`${name}.prototypes`)),
    [size, channels],
    true,
  ) as tf.Variable<tf.Rank.R2>;
  return { prototypes, temperature };
}

/** The attention weights [P, N] of queries [P, D] over the prototypes. */
export function memoryAttention(memory: Memory, queries: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const unit = (x: tf.Tensor2D) =>
      tf.div(x, tf.maximum(tf.norm(x, "euclidean", 1, true), NORM_EPSILON));
    const logits = tf.matMul(unit(queries), unit(memory.prototypes), false, true);
    return tf.softmax(tf.div(logits, memory.temperature)) as tf.Tensor2D;
  });
}

/**
 * Reads the memory at every pixel of `query` [B, h, w, D].
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { VariableStore } from "../layers.ts";
 * import { createMemory, readMemory } from "./memory.ts";
 * const store = new VariableStore("m", 0);
 * const memory = createMemory(store, "memory", 4, 3, 0.1);
 * const { readout } = readMemory(memory, tf.ones([1, 2, 2, 3]));
 * if (readout.shape.join() !== "1,2,2,3") throw new Error();
 * ```
 */
export function readMemory(memory: Memory, query: tf.Tensor4D): MemoryRead {
  const [batch, height, width, channels] = query.shape;
  if (memory.prototypes.shape[1] !== channels) {
    throw new Error(
      `lib/methods/dmad/memory.ts: the memory holds ${memory.prototypes.shape[1]}-channel ` +
        `prototypes, the query has ${channels} channels`,
    );
  }
  return tf.tidy(() => {
    const weights = memoryAttention(memory, tf.reshape(query, [-1, channels]) as tf.Tensor2D);
    const readout = tf.reshape(tf.matMul(weights, memory.prototypes), [
      batch,
      height,
      width,
      channels,
    ]) as tf.Tensor4D;
    const entropy = tf.mean(
      tf.neg(tf.sum(tf.mul(weights, tf.log(tf.add(weights, 1e-12))), 1)),
    ) as tf.Scalar;
    return { readout, entropy };
  });
}
