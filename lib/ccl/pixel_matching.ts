/**
 * Finds, for each pixel of one view, its most similar pixel in another view (cosine similarity
 * of frozen features). The result is an int32 tensor of indices that stays on the device: the
 * matching is a discrete choice that is never differentiated, and reading it back synchronously
 * inside a training step would stall (and, on WebGPU under Deno, crash) the step.
 *
 * Memory: the whole-map search compares every query pixel with every key pixel, but a chunk of
 * query rows at a time, so its similarity block is at most `B x chunk x HW` values
 * ({@linkcode MatchOptions.chunkBytes}); the windowed search holds k*k similarity maps of
 * `B x HW` values. The matching runs outside the gradient tape, so none of its intermediates is
 * kept for the backward pass.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { l2NormalizeLastAxis, offTape } from "./ops.ts";

/** Default bound on the bytes of one whole-map similarity block (64 MiB). */
export const DEFAULT_MATCH_CHUNK_BYTES = 64 * 2 ** 20;

/** Options of {@linkcode matchPixels}. */
export interface MatchOptions {
  /**
   * Upper bound on the bytes of one block of the whole-map similarity (`B x rows x H*W`
   * float32); the query rows are processed in chunks that fit (at least one row per chunk).
   * Results do not depend on it. Default {@linkcode DEFAULT_MATCH_CHUNK_BYTES}.
   */
  chunkBytes?: number;
}

/**
 * The offsets of a k x k window, centre first, then row-major. Putting the centre first makes a
 * tie resolve to "same position".
 */
export function windowOffsets(window: number): Array<[number, number]> {
  if (!Number.isInteger(window) || window < 1 || window % 2 === 0) {
    throw new RangeError(`window must be an odd positive integer, got ${window}`);
  }
  const radius = (window - 1) / 2;
  const offsets: Array<[number, number]> = [[0, 0]];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      if (dy !== 0 || dx !== 0) offsets.push([dy, dx]);
    }
  }
  return offsets;
}

function checkSameShape(query: tf.Tensor4D, key: tf.Tensor4D): void {
  const same = query.shape.every((size, axis) => size === key.shape[axis]);
  if (!same) {
    throw new RangeError(
      `matchPixels: query ${JSON.stringify(query.shape)} and key ${
        JSON.stringify(key.shape)
      } must have the same shape`,
    );
  }
}

/** Far below any cosine: an offset that leaves the map can never be the best match. */
const OUTSIDE = -3e38;

/** Per offset, [H, W]: 0 where the shifted position lies inside the map, OUTSIDE where not. */
function outsidePenalty(height: number, width: number, offsets: Array<[number, number]>) {
  const values = new Float32Array(height * width * offsets.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      offsets.forEach(([dy, dx], o) => {
        const ky = y + dy, kx = x + dx;
        const inside = ky >= 0 && ky < height && kx >= 0 && kx < width;
        values[(y * width + x) * offsets.length + o] = inside ? 0 : OUTSIDE;
      });
    }
  }
  return tf.tensor3d(values, [height, width, offsets.length]);
}

function matchInWindow(query: tf.Tensor4D, key: tf.Tensor4D, window: number): tf.Tensor1D {
  const [batch, height, width, channels] = query.shape;
  const offsets = windowOffsets(window);
  const radius = (window - 1) / 2;
  return tf.tidy(() => {
    const q = l2NormalizeLastAxis(query);
    const padding: Array<[number, number]> = [[0, 0], [radius, radius], [radius, radius], [0, 0]];
    const padded = tf.pad(l2NormalizeLastAxis(key), padding);
    // One offset at a time keeps the peak at one product map, not k*k of them.
    const similarities = offsets.map(([dy, dx]) =>
      tf.tidy(() => {
        const shifted = tf.slice(padded, [0, radius + dy, radius + dx, 0], [
          batch,
          height,
          width,
          channels,
        ]);
        return tf.sum(tf.mul(q, shifted), -1);
      })
    );
    // [B, H, W, K]; argMax keeps the first of equal values, so ties go to the centre.
    const scored = tf.add(tf.stack(similarities, -1), outsidePenalty(height, width, offsets));
    const best = tf.argMax(scored, -1);
    const shifts = tf.tensor1d(offsets.map(([dy, dx]) => dy * width + dx), "int32");
    const own = tf.reshape(tf.range(0, height * width, 1, "int32"), [1, height, width]);
    return tf.reshape(tf.add(own, tf.gather(shifts, best)), [-1]) as tf.Tensor1D;
  });
}

/** Query rows per whole-map block so that `batch x rows x positions` floats fit `chunkBytes`. */
export function matchChunkRows(batch: number, positions: number, chunkBytes: number): number {
  if (!(chunkBytes > 0)) throw new RangeError(`chunkBytes must be > 0, got ${chunkBytes}`);
  return Math.max(1, Math.min(positions, Math.floor(chunkBytes / (4 * batch * positions))));
}

function matchWholeMap(query: tf.Tensor4D, key: tf.Tensor4D, chunkBytes: number): tf.Tensor1D {
  const [batch, height, width, channels] = query.shape;
  const positions = height * width;
  const rows = matchChunkRows(batch, positions, chunkBytes);
  return tf.tidy(() => {
    const q = tf.reshape(l2NormalizeLastAxis(query), [batch, positions, channels]);
    const k = tf.reshape(l2NormalizeLastAxis(key), [batch, positions, channels]);
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < positions; start += rows) {
      const count = Math.min(rows, positions - start);
      // [B, count, HW]: only this block of the similarity exists at a time. argMax keeps the
      // first of equal values, so ties go to the lowest j.
      parts.push(tf.tidy(() =>
        tf.argMax(
          tf.matMul(tf.slice(q, [0, start, 0], [batch, count, channels]), k, false, true),
          -1,
        ) as tf.Tensor2D
      ));
    }
    return tf.reshape(parts.length === 1 ? parts[0] : tf.concat(parts, 1), [-1]) as tf.Tensor1D;
  });
}

/**
 * For each pixel i (flat index `(b * H + y) * W + x`) of `query`, the spatial index `j` (in
 * [0, H*W)) of the most similar pixel of the same image `b` of `key`, by cosine similarity over
 * channels, as an int32 tensor of B*H*W entries (the caller disposes it). `window` k > 0
 * searches the k x k neighbourhood of i (clipped at the border; ties go to i's own position,
 * then row-major); `window` 0 searches the whole map (ties: lowest j), in chunks of query rows
 * bounded by `options.chunkBytes`. Nothing is read back to the CPU, and nothing is recorded on
 * a gradient tape.
 *
 * @param query [B, H, W, C] frozen features of the first view
 * @param key [B, H, W, C] frozen features of the second view
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { matchPixels } from "./pixel_matching.ts";
 * const map = tf.randomNormal([1, 4, 4, 8]) as tf.Tensor4D;
 * const matches = matchPixels(map, map, 3);
 * const j = await matches.data(); // j[i] === i: every pixel matches itself
 * tf.dispose([map, matches]);
 * ```
 */
export function matchPixels(
  query: tf.Tensor4D,
  key: tf.Tensor4D,
  window: number,
  options: MatchOptions = {},
): tf.Tensor1D {
  checkSameShape(query, key);
  if (window !== 0) windowOffsets(window); // validates before any work
  const chunkBytes = options.chunkBytes ?? DEFAULT_MATCH_CHUNK_BYTES;
  return offTape(
    [query, key],
    () => window === 0 ? matchWholeMap(query, key, chunkBytes) : matchInWindow(query, key, window),
  );
}
