/**
 * RD's training loss: per scale, 1 - cosine similarity between the encoder's and the
 * decoder's feature maps each flattened to one C·H·W vector per image, averaged over the
 * batch and summed over scales (the official code's `loss_fucntion`).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import { flatCosineDistance } from "../components/cosine.ts";
import { RECOMPUTE_MIN_ELEMENTS, recomputeFunction } from "../components/recompute.ts";

export { COSINE_EPSILON, cosineSimilarity, flatCosineDistance } from "../components/cosine.ts";

/**
 * The RD loss of encoder features and their reconstructions (same order and shapes).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
import { flatCosineDistance } from "../components/cosine.ts";

export {
  COSINE_EPSILON,
  cosineSimilarity,
  flatCosineDistance,
} from "../components/cosine.ts";
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
    // On large maps the cosine's intermediates (|x|, x², e·d: several map-sized tensors per
    // scale) are recomputed in the backward pass instead of kept on the tape (same numbers).
    const distance = (e: tf.Tensor4D, d: tf.Tensor4D) =>
      e.size < RECOMPUTE_MIN_ELEMENTS ? flatCosineDistance(e, d) : recomputeFunction(
        (a, b) => flatCosineDistance(a as tf.Tensor4D, b as tf.Tensor4D),
        [e, d],
      );
    const perScale = encoder.map((e, s) => tf.mean(distance(e, decoder[s])));
    return addN(perScale) as tf.Scalar;
  });
}
