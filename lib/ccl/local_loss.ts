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
import { addN } from "../backend/add_n.ts";
import { RECOMPUTE_MIN_ELEMENTS } from "../methods/components/recompute.ts";
import { gatherRows, l2NormalizeLastAxis, MIN_SQUARED_NORM } from "./ops.ts";
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
  options: {
    gradient?: "fused" | "autodiff";
    /** Rows per block of the fused loss (default: all below a size threshold, see `fusedLoss`). */
    chunkRows?: number;
  } = {},
): tf.Scalar {
  const [batch, height, width] = query.shape;
  const positions = height * width;
  checkPairs(pairs, batch, positions);
  return tf.tidy(() => {
    const prepared = preparePairs(pairs, batch, positions);
    if (options.gradient === "autodiff") {
      const [q, keyRows] = normalisedRows(query, key);
      return lossFromRows(q, keyRows, prepared, temperature, gatherRows);
    }
    return fusedLoss(query, key, prepared, temperature, options.chunkRows);
  });
}

/** Index and weight tensors of a {@linkcode LocalPairs}, one entry per query pixel. */
interface PreparedPairs {
  /** Row of each pixel's negative key (same position in the negative image). */
  negativeRows: tf.Tensor1D;
  /** Per positive kind: rows safe to gather, and 0/1 where the positive exists. */
  positiveRows: tf.Tensor1D[];
  positiveWeights: tf.Tensor1D[];
  /** 1 where the pixel's image has a negative, else 0 (the pixel then contributes 0). */
  imageWeight: tf.Tensor1D;
}

function preparePairs(pairs: LocalPairs, batch: number, positions: number): PreparedPairs {
  const negativeRows = new Int32Array(batch * positions);
  const imageWeight = new Float32Array(batch * positions);
  pairs.negativeImages.forEach((n, b) => {
    const image = n === NO_PARTNER ? b : n;
    for (let p = 0; p < positions; p++) {
      negativeRows[b * positions + p] = image * positions + p;
      imageWeight[b * positions + p] = n === NO_PARTNER ? 0 : 1;
    }
  });
  const positives = pairs.positives.map(positiveWeights);
  return {
    negativeRows: tf.tensor1d(negativeRows, "int32"),
    positiveRows: positives.map(({ safeRows }) =>
      safeRows instanceof Int32Array ? tf.tensor1d(safeRows, "int32") : safeRows
    ),
    positiveWeights: positives.map(({ weight }) => weight),
    imageWeight: tf.tensor1d(imageWeight),
  };
}

/** The unit-length query and key maps as [B*H*W, C] rows. */
function normalisedRows(query: tf.Tensor4D, key: tf.Tensor4D): [tf.Tensor2D, tf.Tensor2D] {
  const [batch, height, width, channels] = query.shape;
  const rows = batch * height * width;
  return [
    tf.reshape(l2NormalizeLastAxis(query), [rows, channels]) as tf.Tensor2D,
    tf.reshape(l2NormalizeLastAxis(key), [rows, channels]) as tf.Tensor2D,
  ];
}

type Gather = (x: tf.Tensor2D, rows: tf.Tensor1D) => tf.Tensor2D;

/** `tf.gather` of rows: the fused loss's own gradient replaces gather's. */
const plainGather: Gather = (x, indices) => tf.gather(x, indices) as tf.Tensor2D;

/** The per-pixel terms and the loss (their mean) from unit-length rows. */
function lossTerms(
  q: tf.Tensor2D,
  keyRows: tf.Tensor2D,
  prepared: PreparedPairs,
  temperature: number,
  gather: Gather,
) {
  const negativeKeys = gather(keyRows, prepared.negativeRows);
  const negative = tf.sum(tf.mul(q, negativeKeys), -1);
  let termSum: tf.Tensor = tf.zeros([q.shape[0]]);
  let termCount: tf.Tensor = tf.zeros([q.shape[0]]);
  const logits: tf.Tensor[] = [];
  const positiveKeys: tf.Tensor2D[] = [];
  prepared.positiveRows.forEach((rows, k) => {
    const keys = gather(keyRows, rows);
    const positive = tf.sum(tf.mul(q, keys), -1);
    const logit = tf.div(tf.sub(negative, positive), temperature);
    const term = tf.softplus(logit);
    termSum = tf.add(termSum, tf.mul(term, prepared.positiveWeights[k]));
    termCount = tf.add(termCount, prepared.positiveWeights[k]);
    logits.push(logit);
    positiveKeys.push(keys);
  });
  const perPixel = tf.div(termSum, termCount);
  const loss = tf.mean(tf.mul(perPixel, prepared.imageWeight)) as tf.Scalar;
  return { loss, negativeKeys, positiveKeys, logits, termCount };
}

function lossFromRows(
  q: tf.Tensor2D,
  keyRows: tf.Tensor2D,
  prepared: PreparedPairs,
  temperature: number,
  gather: Gather,
): tf.Scalar {
  return lossTerms(q, keyRows, prepared, temperature, gather).loss;
}

/** d(x * rsqrt(max(|x|², eps²)))/dx applied to `du`, row-wise, for [N, C] rows `x`. */
function normaliseBackward(x: tf.Tensor2D, unit: tf.Tensor2D, du: tf.Tensor2D): tf.Tensor2D {
  const squared = tf.sum(tf.square(x), -1, true);
  const scale = tf.rsqrt(tf.maximum(squared, MIN_SQUARED_NORM));
  // Below the floor the norm is a constant, so the projection term vanishes (as autodiff of
  // `maximum` gives it).
  const aboveFloor = tf.cast(tf.greaterEqual(squared, MIN_SQUARED_NORM), "float32");
  const along = tf.mul(tf.mul(unit, tf.sum(tf.mul(unit, du), -1, true)), aboveFloor);
  return tf.mul(scale, tf.sub(du, along)) as tf.Tensor2D;
}

/**
 * Rows of one block of the chunked loss: at these sizes each [rows, C] temporary is about 4 MiB.
 * Used only from {@linkcode RECOMPUTE_MIN_ELEMENTS} elements up, so smaller models (the demo's)
 * compute the whole map at once and their numbers do not move.
 */
const CHUNK_ELEMENTS = 2 ** 20;

/** Rows per block for a [rows, channels] map: all of them below the threshold. */
function chunkRowsFor(rows: number, channels: number, override?: number): number {
  if (override !== undefined) return Math.max(1, Math.min(rows, override));
  if (rows * channels < RECOMPUTE_MIN_ELEMENTS) return rows;
  return Math.max(1, Math.floor(CHUNK_ELEMENTS / channels));
}

/** The entries of `prepared` for query rows [start, start + size). */
function slicePairs(prepared: PreparedPairs, start: number, size: number): PreparedPairs {
  const part = (t: tf.Tensor1D) =>
    start === 0 && size === t.size ? t : tf.slice(t, [start], [size]) as tf.Tensor1D;
  return {
    negativeRows: part(prepared.negativeRows),
    positiveRows: prepared.positiveRows.map(part),
    positiveWeights: prepared.positiveWeights.map(part),
    imageWeight: part(prepared.imageWeight),
  };
}

/**
 * Runs `block(start, size)` over row blocks of `rows` and adds up what it returns, freeing each
 * block's temporaries before the next; a single block's result is returned as it is.
 */
function sumOverBlocks<T extends tf.Tensor>(
  rows: number,
  chunk: number,
  block: (start: number, size: number) => T,
): T {
  let total: T | undefined;
  for (let start = 0; start < rows; start += chunk) {
    const size = Math.min(chunk, rows - start);
    const previous: T | undefined = total;
    total = tf.tidy(() => {
      const part = block(start, size);
      return previous ? tf.add(previous, part) as T : part;
    });
    previous?.dispose();
  }
  return total!;
}

/** Rows [start, start + size) of a [rows, C] tensor (the tensor itself when that is all). */
function rowBlock(x: tf.Tensor2D, start: number, size: number): tf.Tensor2D {
  return start === 0 && size === x.shape[0] ? x : tf.slice(x, [start, 0], [size, -1]);
}

/**
 * The backward pass of the query rows [start, start + size): their gradient ([size, C]) and
 * what they add to the gradient of the (normalised) key rows ([rows, C], scattered).
 */
function blockGradients(
  dy: tf.Tensor,
  unit: { q: tf.Tensor2D; keyRows: tf.Tensor2D; queryRows: tf.Tensor2D },
  prepared: PreparedPairs,
  temperature: number,
  start: number,
  size: number,
): { dQuery: tf.Tensor2D; dKeyRows: tf.Tensor2D } {
  const [rows, channels] = unit.q.shape;
  const pairs = slicePairs(prepared, start, size);
  const q = rowBlock(unit.q, start, size);
  const terms = lossTerms(q, unit.keyRows, pairs, temperature, plainGather);
  // d loss / d logit_k per pixel: dy * imageWeight * weight_k / count / N * sigmoid(logit).
  const perPixel = tf.div(tf.mul(dy, pairs.imageWeight), tf.mul(terms.termCount, rows));
  const dLogits = terms.logits.map((logit, k) =>
    tf.div(tf.mul(tf.mul(perPixel, pairs.positiveWeights[k]), tf.sigmoid(logit)), temperature)
  );
  const dNegative = addN(dLogits); // d loss / d (q . negative key)
  const column = (t: tf.Tensor) => tf.reshape(t, [size, 1]);
  let dq = tf.mul(column(dNegative), terms.negativeKeys);
  let dKeyRows = tf.scatterND(
    tf.reshape(pairs.negativeRows, [size, 1]),
    tf.mul(column(dNegative), q),
    [rows, channels],
  );
  dLogits.forEach((dLogit, k) => {
    dq = tf.sub(dq, tf.mul(column(dLogit), terms.positiveKeys[k]));
    dKeyRows = tf.sub(
      dKeyRows,
      tf.scatterND(
        tf.reshape(pairs.positiveRows[k], [size, 1]),
        tf.mul(column(dLogit), q),
        [rows, channels],
      ),
    );
  });
  return {
    dQuery: normaliseBackward(rowBlock(unit.queryRows, start, size), q, dq as tf.Tensor2D),
    dKeyRows: dKeyRows as tf.Tensor2D,
  };
}

/** `normaliseBackward` of all rows, a block of rows at a time. */
function normaliseBackwardInBlocks(
  x: tf.Tensor2D,
  unit: tf.Tensor2D,
  du: tf.Tensor2D,
  chunk: number,
): tf.Tensor2D {
  const rows = x.shape[0];
  if (chunk >= rows) return normaliseBackward(x, unit, du);
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < rows; start += chunk) {
    const size = Math.min(chunk, rows - start);
    parts.push(
      tf.tidy(() =>
        normaliseBackward(
          rowBlock(x, start, size),
          rowBlock(unit, start, size),
          rowBlock(du, start, size),
        )
      ),
    );
  }
  const all = tf.concat(parts, 0);
  tf.dispose(parts);
  return all;
}

/**
 * The loss with a hand-written gradient that keeps only `query` and `key` (and the index
 * tensors) for the backward pass and recomputes the rest there: autodiff would keep about six
 * [B*H*W, C] tensors per scale alive from the forward pass to the end of the backward pass.
 * From {@linkcode RECOMPUTE_MIN_ELEMENTS} elements up (or with `chunkRows`), both passes work on
 * blocks of query rows, so their temporaries are a few [chunk, C] tensors besides the whole
 * normalised maps and the key gradient (the sums then run in another order: the same numbers
 * up to float rounding).
 */
function fusedLoss(
  query: tf.Tensor4D,
  key: tf.Tensor4D,
  prepared: PreparedPairs,
  temperature: number,
  chunkRows?: number,
): tf.Scalar {
  const [batch, height, width, channels] = query.shape;
  const rows = batch * height * width;
  const chunk = chunkRowsFor(rows, channels, chunkRows);
  const kinds = prepared.positiveRows.length;
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [queryIn, keyIn] = args as tf.Tensor4D[];
    const save = args[2] as tf.GradSaveFunc;
    save([
      queryIn,
      keyIn,
      prepared.negativeRows,
      prepared.imageWeight,
      ...prepared.positiveRows,
      ...prepared.positiveWeights,
    ]);
    const value = tf.tidy(() => {
      const [q, keyRows] = normalisedRows(queryIn, keyIn);
      if (chunk >= rows) return lossFromRows(q, keyRows, prepared, temperature, plainGather);
      const sum = sumOverBlocks(rows, chunk, (start, size) => {
        const part = slicePairs(prepared, start, size);
        const loss = lossFromRows(
          rowBlock(q, start, size),
          keyRows,
          part,
          temperature,
          plainGather,
        );
        return tf.mul(loss, size);
      });
      return tf.div(sum, rows) as tf.Scalar;
    });
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [queryS, keyS, negativeRows, imageWeight] = saved;
        const savedPairs: PreparedPairs = {
          negativeRows: negativeRows as tf.Tensor1D,
          imageWeight: imageWeight as tf.Tensor1D,
          positiveRows: saved.slice(4, 4 + kinds) as tf.Tensor1D[],
          positiveWeights: saved.slice(4 + kinds) as tf.Tensor1D[],
        };
        const queryRows = tf.reshape(queryS, [rows, channels]) as tf.Tensor2D;
        const keyFlat = tf.reshape(keyS, [rows, channels]) as tf.Tensor2D;
        const [q, keyRows] = normalisedRows(queryS as tf.Tensor4D, keyS as tf.Tensor4D);
        const unit = { q, keyRows, queryRows };
        const dQueryParts: tf.Tensor2D[] = [];
        const dKeyRows = sumOverBlocks(rows, chunk, (start, size) => {
          const block = blockGradients(dy, unit, savedPairs, temperature, start, size);
          dQueryParts.push(tf.keep(block.dQuery));
          return block.dKeyRows;
        });
        // The parts were kept out of their blocks' scopes: free them once joined (a reshape of
        // the only part shares its data).
        const dQuery = tf.reshape(
          dQueryParts.length === 1 ? dQueryParts[0] : tf.concat(dQueryParts, 0),
          query.shape,
        );
        tf.dispose(dQueryParts);
        return [
          dQuery,
          tf.reshape(normaliseBackwardInBlocks(keyFlat, keyRows, dKeyRows, chunk), key.shape),
        ];
      });
    return { value, gradFunc };
  });
  return fused(query, key) as tf.Scalar;
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
    return tf.div(addN(perScale), perScale.length) as tf.Scalar;
  });
}
