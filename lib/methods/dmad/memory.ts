/**
 * DMAD's memory as the official feature-reconstruction code has it: a vector quantiser (VQ-VAE
 * style) over the deepest encoder map. Each pixel is replaced by its nearest codeword (squared
 * L2) of a trainable codebook [K, D]; the decoder sees codewords only on this path, so what the
 * normal training images never needed cannot pass through it. The gradient skips the
 * quantisation (straight-through), and the codebook learns from the VQ loss
 * `beta · ||sg(q) - z||² + ||q - sg(z)||²` (means).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { detach } from "../components/frozen.ts";
import { seededUniform, type VariableStore } from "../layers.ts";

/** The codebook and the commitment weight. */
export interface VectorQuantizer {
  /** [K, D] codewords. */
  readonly codebook: tf.Variable<tf.Rank.R2>;
  /** Weight of the commitment term (official 0.25). */
  readonly beta: number;
}

/** What quantising gives. */
export interface Quantized {
  /** [B, h, w, D]: the codewords, with the straight-through gradient to the input. */
  quantized: tf.Tensor4D;
  /** The VQ loss (commitment · beta + codebook), a scalar. */
  loss: tf.Scalar;
}

/** Creates `size` codewords of `channels`, uniform in ±1/size (seeded), as `<name>.codebook`. */
export function createVectorQuantizer(
  store: VariableStore,
  name: string,
  size: number,
  channels: number,
  beta: number,
): VectorQuantizer {
  const codebook = store.create(
    `${name}.codebook`,
    seededUniform(size * channels, 1 / size, store.seedFor(`${name}.codebook`)),
    [size, channels],
    true,
  ) as tf.Variable<tf.Rank.R2>;
  return { codebook, beta };
}

/** Index [P] of the nearest codeword of each row of `rows` [P, D]. */
export function nearestCodewords(codebook: tf.Tensor2D, rows: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const distances = tf.sub(
      tf.add(tf.sum(tf.square(rows), 1, true), tf.sum(tf.square(codebook), 1)),
      tf.mul(tf.matMul(rows, codebook, false, true), 2),
    );
    return tf.argMin(distances, 1) as tf.Tensor1D;
  });
}

/**
 * Quantises every pixel of `latents` [B, h, w, D].
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { VariableStore } from "../layers.ts";
 * import { createVectorQuantizer, quantize } from "./memory.ts";
 * const store = new VariableStore("m", 0);
 * const vq = createVectorQuantizer(store, "vq", 4, 3, 0.25);
 * const { quantized } = quantize(vq, tf.ones([1, 2, 2, 3]));
 * if (quantized.shape.join() !== "1,2,2,3") throw new Error();
 * ```
 */
export function quantize(vq: VectorQuantizer, latents: tf.Tensor4D): Quantized {
  const [batch, height, width, channels] = latents.shape;
  const [size, codeChannels] = vq.codebook.shape;
  if (codeChannels !== channels) {
    throw new Error(
      `lib/methods/dmad/memory.ts: the codebook holds ${codeChannels}-channel codewords, the ` +
        `latents have ${channels} channels`,
    );
  }
  return tf.tidy(() => {
    const rows = tf.reshape(latents, [-1, channels]) as tf.Tensor2D;
    const indices = nearestCodewords(detach(vq.codebook) as tf.Tensor2D, detach(rows));
    const oneHot = tf.cast(tf.oneHot(tf.cast(indices, "int32"), size), "float32") as tf.Tensor2D;
    const codewords = tf.reshape(tf.matMul(oneHot, vq.codebook), [
      batch,
      height,
      width,
      channels,
    ]) as tf.Tensor4D;
    const commitment = tf.mean(tf.squaredDifference(detach(codewords), latents));
    const codebookTerm = tf.mean(tf.squaredDifference(codewords, detach(latents)));
    const loss = tf.add(tf.mul(commitment, vq.beta), codebookTerm) as tf.Scalar;
    const quantized = tf.add(latents, detach(tf.sub(codewords, latents))) as tf.Tensor4D;
    return { quantized, loss };
  });
}
