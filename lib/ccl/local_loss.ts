/**
 * CCL's local (dense, pixel-level) contrastive loss.
 *
 * For each pixel i of image b in the original view x: the positive is its matched pixel j in the
 * augmented view (matched on frozen features, see `pixel_matching.ts`), the negative is pixel i
 * of the augmented view of one randomly chosen image of a different class. Both similarities
 * are cosines of the trainable dense features. Per pixel:
 * `-log(e^(pos/T) / (e^(pos/T) + e^(neg/T))) = softplus((neg - pos) / T)`.
 *
 * Keys (positive and negative) come from the augmented view, as in the released code.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { gatherRows, l2NormalizeLastAxis } from "./ops.ts";
import { matchPixels } from "./pixel_matching.ts";
import { NO_PARTNER, pickDifferentClass, pickSameClass } from "./pairing.ts";

/** One scale's inputs to the local loss. */
export interface LocalScaleInputs {
  /** Trainable dense features of the original view, [B, H, W, C]. */
  query: tf.Tensor4D;
  /** Trainable dense features of the augmented view, [B, H, W, C]. */
  key: tf.Tensor4D;
  /** Frozen features of the original view used for matching, [B, H, W, C']. */
  queryMatching: tf.Tensor4D;
  /** Frozen features of the augmented view used for matching, [B, H, W, C']. */
  keyMatching: tf.Tensor4D;
}

/** Options of {@linkcode localContrastiveLoss}. */
export interface LocalLossOptions {
  /** Temperature T (0.05 in CCL). */
  temperature: number;
  /** Matching window side k (odd), or 0 for the whole map. */
  window: number;
  /** Adds each pixel's match in another same-class image (augmented view) as a second positive. */
  sameClassPositive: boolean;
  /** Bound on one block of the whole-map matching (see `MatchOptions.chunkBytes`). */
  chunkBytes?: number;
}

/**
 * A positive per query pixel: a row of the flattened key map [B*H*W, C], or NO_PARTNER. Either
 * plain numbers, or an int32 tensor computed on the device (where any negative entry means no
 * partner); a tensor is never read back.
 */
export type PositiveRows = Int32Array | tf.Tensor1D;

/** The discrete choices behind one scale's loss, made outside the gradient. */
export interface LocalPairs {
  /**
   * One or more positive kinds; each has one entry per query pixel (`(b * H + y) * W + x`):
   * the row `b' * H * W + j` of the flattened key map, or {@linkcode NO_PARTNER}. The first kind
   * must have a positive for every pixel.
   */
  positives: PositiveRows[];
  /** Per image: the key image whose same-position pixels are the negatives, or NO_PARTNER. */
  negativeImages: Int32Array;
}

function checkPairs(pairs: LocalPairs, batch: number, positions: number): void {
  if (pairs.positives.length === 0) throw new RangeError("local loss: no positives given");
  for (const rows of pairs.positives) {
    const length = rows instanceof Int32Array ? rows.length : rows.size;
    if (length !== batch * positions) {
      throw new RangeError(
        `local loss: ${length} positive entries for ${batch * positions} pixels`,
      );
    }
  }
  const first = pairs.positives[0];
  if (first instanceof Int32Array && first.includes(NO_PARTNER)) {
    throw new RangeError("local loss: the first positive kind must cover every pixel");
  }
  if (pairs.negativeImages.length !== batch) {
    throw new RangeError(
      `local loss: ${pairs.negativeImages.length} negative images for a batch of ${batch}`,
    );
  }
}

/**
 * The local loss of one scale for given matches and negatives, averaged over all B*H*W pixels.
 * With several positive kinds, a pixel's loss is the mean of one binary term per available
 * positive (each against the same negative). An image with no negative
 * (`negativeImages[b] === NO_PARTNER`) contributes 0 for each of its pixels: the whole per-pixel
 * term, not only the negative's exponential, and it still counts in the average. An image lacks a
 * different-class partner only when the whole batch is one class, so then the loss is simply 0,
 * as in the released code.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { localLossFromPairs } from "./local_loss.ts";
 * const x = tf.randomNormal([2, 2, 2, 4]) as tf.Tensor4D;
 * const identity = Int32Array.from({ length: 8 }, (_, i) => i);
 * const loss = localLossFromPairs(x, x, { positives: [identity], negativeImages: Int32Array.from([1, 0]) }, 0.05);
 * ```
 */
export function localLossFromPairs(
  query: tf.Tensor4D,
  key: tf.Tensor4D,
  pairs: LocalPairs,
  temperature: number,
): tf.Scalar {
  const [batch, height, width, channels] = query.shape;
  const positions = height * width;
  checkPairs(pairs, batch, positions);
  return tf.tidy(() => {
    const q = tf.reshape(l2NormalizeLastAxis(query), [batch * positions, channels]) as tf.Tensor2D;
    const keyUnit = l2NormalizeLastAxis(key);
    const keyRows = tf.reshape(keyUnit, [batch * positions, channels]) as tf.Tensor2D;

    const hasNegative = Float32Array.from(pairs.negativeImages, (n) => (n === NO_PARTNER ? 0 : 1));
    const negativeImages = Int32Array.from(
      pairs.negativeImages,
      (n, b) => (n === NO_PARTNER ? b : n),
    );
    const negativeKeys = tf.reshape(
      gatherRows(tf.reshape(keyUnit, [batch, positions * channels]), negativeImages),
      [batch * positions, channels],
    );
    const negative = tf.sum(tf.mul(q, negativeKeys), -1);

    let termSum: tf.Tensor = tf.zeros([batch * positions]);
    let termCount: tf.Tensor = tf.zeros([batch * positions]);
    for (const rows of pairs.positives) {
      const { safeRows, weight } = positiveWeights(rows);
      const positive = tf.sum(tf.mul(q, gatherRows(keyRows, safeRows)), -1);
      const term = tf.softplus(tf.div(tf.sub(negative, positive), temperature));
      termSum = tf.add(termSum, tf.mul(term, weight));
      termCount = tf.add(termCount, weight);
    }
    const perPixel = tf.div(termSum, termCount);
    const imageWeight = tf.reshape(
      tf.tile(tf.reshape(tf.tensor1d(hasNegative), [batch, 1]), [1, positions]),
      [batch * positions],
    );
    return tf.mean(tf.mul(perPixel, imageWeight)) as tf.Scalar;
  });
}

/** Rows safe to gather (no partner -> row 0) and a 0/1 weight per pixel. */
function positiveWeights(rows: PositiveRows): { safeRows: PositiveRows; weight: tf.Tensor1D } {
  if (rows instanceof Int32Array) {
    return {
      safeRows: Int32Array.from(rows, (r) => (r === NO_PARTNER ? 0 : r)),
      weight: tf.tensor1d(Float32Array.from(rows, (r) => (r === NO_PARTNER ? 0 : 1))),
    };
  }
  return {
    safeRows: tf.maximum(rows, tf.scalar(0, "int32")),
    weight: tf.cast(tf.greaterEqual(rows, 0), "float32"),
  };
}

/**
 * Converts per-image spatial matches ([B*H*W] int32 on the device) into rows of the flattened
 * key map of `keyImages` (NO_PARTNER where an image has none), without reading them back.
 */
function matchesToRows(
  matches: tf.Tensor1D,
  keyImages: Int32Array,
  positions: number,
): tf.Tensor1D {
  const batch = keyImages.length;
  // An image without a partner gets a base so negative that every one of its rows clamps to
  // NO_PARTNER.
  const base = Int32Array.from(
    keyImages,
    (k) => (k === NO_PARTNER ? NO_PARTNER - positions : k * positions),
  );
  return tf.tidy(() =>
    tf.reshape(
      tf.maximum(
        tf.add(tf.reshape(matches, [batch, positions]), tf.tensor2d(base, [batch, 1], "int32")),
        tf.scalar(NO_PARTNER, "int32"),
      ),
      [-1],
    )
  );
}

/**
 * Draws the pairs of one scale: matches on the frozen features (window `options.window`), one
 * random different-class image per image and, with `sameClassPositive`, one random other
 * same-class image per image whose augmented view supplies a second matched positive. The
 * positives are int32 tensors on the device (nothing is read back); the caller disposes them.
 */
export function drawLocalPairs(
  inputs: LocalScaleInputs,
  classIds: Int32Array,
  options: LocalLossOptions,
  rng: () => number,
): LocalPairs {
  const [batch, height, width] = inputs.queryMatching.shape;
  if (classIds.length !== batch) {
    throw new RangeError(`local loss: ${classIds.length} class ids for a batch of ${batch}`);
  }
  const positions = height * width;
  const self = Int32Array.from({ length: batch }, (_, b) => b);
  const match = (key: tf.Tensor4D) =>
    tf.tidy(() =>
      matchesToRows(
        matchPixels(inputs.queryMatching, key, options.window, { chunkBytes: options.chunkBytes }),
        self,
        positions,
      )
    );
  const positives: tf.Tensor1D[] = [match(inputs.keyMatching)];
  const negativeImages = pickDifferentClass(classIds, rng);
  if (options.sameClassPositive) {
    const partners = pickSameClass(classIds, rng);
    const partnerKeys = tf.tidy(() =>
      tf.gather(
        inputs.keyMatching,
        tf.tensor1d(partners.map((p, b) => (p === NO_PARTNER ? b : p)), "int32"),
      )
    );
    positives.push(tf.tidy(() =>
      matchesToRows(
        matchPixels(inputs.queryMatching, partnerKeys, options.window, {
          chunkBytes: options.chunkBytes,
        }),
        partners,
        positions,
      )
    ));
    partnerKeys.dispose();
  }
  return { positives, negativeImages };
}

function checkScale(inputs: LocalScaleInputs, scale: number): void {
  const [b, h, w, c] = inputs.query.shape;
  const problems: string[] = [];
  if (inputs.key.shape.some((size, axis) => size !== inputs.query.shape[axis])) {
    problems.push(`key ${JSON.stringify(inputs.key.shape)} differs from query`);
  }
  for (
    const [name, t] of [["queryMatching", inputs.queryMatching], [
      "keyMatching",
      inputs.keyMatching,
    ]] as const
  ) {
    if (t.shape[0] !== b || t.shape[1] !== h || t.shape[2] !== w) {
      problems.push(`${name} ${JSON.stringify(t.shape)} differs in B, H or W`);
    }
  }
  if (problems.length > 0) {
    throw new RangeError(
      `local loss, scale ${scale} (query [${b}, ${h}, ${w}, ${c}]): ${problems.join("; ")}`,
    );
  }
}

/**
 * The local contrastive loss averaged over scales. Random choices (negatives, same-class
 * partners) are drawn from `rng`, independently per scale as in the released code.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { localContrastiveLoss } from "./local_loss.ts";
 * import { mulberry32 } from "../util/random.ts";
 * const f = tf.randomNormal([2, 4, 4, 8]) as tf.Tensor4D;
 * const loss = localContrastiveLoss(
 *   [{ query: f, key: f, queryMatching: f, keyMatching: f }],
 *   Int32Array.from([0, 1]),
 *   { temperature: 0.05, window: 3, sameClassPositive: false },
 *   mulberry32(0),
 * );
 * ```
 */
export function localContrastiveLoss(
  scales: readonly LocalScaleInputs[],
  classIds: Int32Array,
  options: LocalLossOptions,
  rng: () => number,
): tf.Scalar {
  if (scales.length === 0) throw new RangeError("local loss: no feature scales given");
  return tf.tidy(() => {
    const perScale = scales.map((inputs, scale) => {
      checkScale(inputs, scale);
      const pairs = drawLocalPairs(inputs, classIds, options, rng);
      return localLossFromPairs(inputs.query, inputs.key, pairs, options.temperature);
    });
    return tf.div(tf.addN(perScale), perScale.length) as tf.Scalar;
  });
}
