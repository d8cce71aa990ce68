/**
 * Finds, for each pixel of one view, its most similar pixel in another view (cosine similarity
 * of frozen features). The result is a plain index array: the matching is a discrete choice that
 * is never differentiated.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { l2NormalizeLastAxis } from "./ops.ts";

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

/** Cosine similarity of every query pixel with the key pixel at each offset: [K][B*H*W]. */
function offsetSimilarities(
  query: tf.Tensor4D,
  key: tf.Tensor4D,
  offsets: Array<[number, number]>,
  radius: number,
): Float32Array[] {
  const [batch, height, width, channels] = query.shape;
  return tf.tidy(() => {
    const q = l2NormalizeLastAxis(query);
    const padded = tf.pad(l2NormalizeLastAxis(key), [[0, 0], [radius, radius], [radius, radius], [
      0,
      0,
    ]]);
    // One offset at a time keeps the peak memory at one feature map, not k*k of them.
    return offsets.map(([dy, dx]) =>
      tf.tidy(() => {
        const shifted = tf.slice(padded, [0, radius + dy, radius + dx, 0], [
          batch,
          height,
          width,
          channels,
        ]);
        return tf.sum(tf.mul(q, shifted), -1).dataSync() as Float32Array;
      })
    );
  });
}

function matchInWindow(query: tf.Tensor4D, key: tf.Tensor4D, window: number): Int32Array {
  const [batch, height, width] = query.shape;
  const offsets = windowOffsets(window);
  const radius = (window - 1) / 2;
  const similarities = offsetSimilarities(query, key, offsets, radius);
  const matches = new Int32Array(batch * height * width);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const pixel = (b * height + y) * width + x;
        let best = -Infinity;
        let bestIndex = y * width + x;
        offsets.forEach(([dy, dx], o) => {
          const ky = y + dy, kx = x + dx;
          if (ky < 0 || ky >= height || kx < 0 || kx >= width) return;
          const similarity = similarities[o][pixel];
          if (similarity > best) {
            best = similarity;
            bestIndex = ky * width + kx;
          }
        });
        matches[pixel] = bestIndex;
      }
    }
  }
  return matches;
}

function matchWholeMap(query: tf.Tensor4D, key: tf.Tensor4D): Int32Array {
  const [batch, height, width, channels] = query.shape;
  const positions = height * width;
  const matches = new Int32Array(batch * positions);
  // Image by image: the similarity matrix is (H*W)^2 per image.
  for (let b = 0; b < batch; b++) {
    const best = tf.tidy(() => {
      const q = tf.reshape(l2NormalizeLastAxis(tf.slice(query, [b], [1])), [positions, channels]);
      const k = tf.reshape(l2NormalizeLastAxis(tf.slice(key, [b], [1])), [positions, channels]);
      return tf.argMax(tf.matMul(q, k, false, true), 1).dataSync();
    });
    matches.set(best, b * positions);
  }
  return matches;
}

/**
 * For each pixel i (flat index `(b * H + y) * W + x`) of `query`, the spatial index `j` (in
 * [0, H*W)) of the most similar pixel of the same image `b` of `key`, by cosine similarity over
 * channels. `window` k > 0 searches the k x k neighbourhood of i (clipped at the border; ties go
 * to i's own position, then row-major); `window` 0 searches the whole map (ties: lowest j).
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
 * const j = matchPixels(map, map, 3); // j[i] === i: every pixel matches itself
 * ```
 */
export function matchPixels(query: tf.Tensor4D, key: tf.Tensor4D, window: number): Int32Array {
  checkSameShape(query, key);
  return window === 0 ? matchWholeMap(query, key) : matchInWindow(query, key, window);
}
