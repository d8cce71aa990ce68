/**
 * CCL's global contrastive loss: the supervised contrastive loss (SupCon, Khosla et al.,
 * NeurIPS 2020, the "L_out" form) over pooled compact features, with class ids as labels.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { l2NormalizeLastAxis } from "./ops.ts";

/** The {0, 1} masks SupCon needs, built from the labels alone. */
interface SupConMasks {
  /** [N, N]: 1 where j != i (the denominator's set A(i)). */
  others: Float32Array;
  /** [N, N]: 1 where j != i and label j == label i (the positives P(i)). */
  positives: Float32Array;
  /** [N]: 1 / |P(i)|, or 0 for anchors without positives (they are left out). */
  inversePositiveCount: Float32Array;
  /** Anchors with at least one positive. */
  validAnchors: number;
}

/** Stand-in for the excluded self-similarity: exp of it (shifted) is exactly 0. */
const SELF_LOGIT = -1e9;

function supConMasks(labels: Int32Array): SupConMasks {
  const n = labels.length;
  const others = new Float32Array(n * n);
  const positives = new Float32Array(n * n);
  const inversePositiveCount = new Float32Array(n);
  let validAnchors = 0;
  for (let i = 0; i < n; i++) {
    let count = 0;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      others[i * n + j] = 1;
      if (labels[i] === labels[j]) {
        positives[i * n + j] = 1;
        count++;
      }
    }
    if (count > 0) {
      inversePositiveCount[i] = 1 / count;
      validAnchors++;
    }
  }
  return { others, positives, inversePositiveCount, validAnchors };
}

/**
 * SupCon over N feature vectors with labels:
 * `L = -1/|I| * sum_{i in I} 1/|P(i)| * sum_{p in P(i)} log( exp(z_i.z_p / T) / sum_{a != i} exp(z_i.z_a / T) )`
 * where z are the L2-normalised rows, P(i) the other rows with i's label and I the anchors with
 * a non-empty P(i). Each row's largest non-self logit is subtracted before exponentiating (which
 * leaves the value unchanged); self-similarity is excluded from the denominator. With no valid
 * anchor at all the loss is 0.
 *
 * (The released RD+CCL code normalises differently: self-similarity stays in the denominator and
 * the sum runs over all positive pairs divided by their total count. This module follows the
 * paper it cites, Khosla et al., with base temperature = temperature.)
 *
 * @param features [N, D]; for CCL, the compact features of [x; x_aug] (N = 2B)
 * @param labels N class ids; for CCL, the batch's ids twice
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { supConLoss } from "./global_loss.ts";
 * const loss = supConLoss(tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]), Int32Array.from([0, 0, 1, 1]), 1);
 * // = log(1 + 2/e) ~ 0.5514
 * ```
 */
export function supConLoss(
  features: tf.Tensor2D,
  labels: Int32Array,
  temperature: number,
): tf.Scalar {
  const n = features.shape[0];
  if (labels.length !== n) {
    throw new RangeError(`SupCon: ${labels.length} labels for ${n} feature vectors`);
  }
  if (!(temperature > 0)) {
    throw new RangeError(`SupCon: temperature must be > 0, got ${temperature}`);
  }
  const masks = supConMasks(labels);
  if (masks.validAnchors === 0) return tf.scalar(0);
  return tf.tidy(() => {
    const z = l2NormalizeLastAxis(features);
    const logits = tf.div(tf.matMul(z, z, false, true), temperature);
    const notSelf = tf.cast(tf.tensor2d(masks.others, [n, n]), "bool");
    // Self-similarity is replaced before any exp (not masked after), so that even at tiny
    // temperatures nothing overflows, neither in the value nor in the gradient.
    const othersOnly = tf.where(notSelf, logits, tf.fill([n, n], SELF_LOGIT));
    // Rows are shifted by their largest non-self logit; the shift cancels in log-softmax, so its
    // gradient is zero and every exponential is <= 1 with at least one equal to 1.
    const shifted = tf.sub(othersOnly, tf.max(othersOnly, 1, true));
    const logDenominator = tf.log(tf.sum(tf.exp(shifted), 1, true));
    const logProbability = tf.sub(shifted, logDenominator);
    const positives = tf.tensor2d(masks.positives, [n, n]);
    const meanPositiveLogProbability = tf.mul(
      tf.sum(tf.mul(logProbability, positives), 1),
      tf.tensor1d(masks.inversePositiveCount),
    );
    return tf.div(tf.neg(tf.sum(meanPositiveLogProbability)), masks.validAnchors) as tf.Scalar;
  });
}
