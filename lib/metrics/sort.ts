/**
 * Sorting of float32 scores through order-preserving uint32 keys and an LSD radix sort.
 * Sorting is the cost of every threshold metric; millions of pixels sort several times faster
 * this way than with `Float32Array.prototype.sort` or an index sort with a comparator.
 * @module
 */

const SIGN_BIT = 0x80000000;
const EXPONENT_ALL_ONES = 0x7f800000;

/**
 * The uint32 key of a float32 given by its raw bits: keys order like the floats, and -0 gets the
 * key of +0 so that the two count as one threshold. The caller must reject NaN first
 * ({@linkcode isNaNBits}).
 */
export function float32BitsToKey(bits: number): number {
  if (bits === SIGN_BIT) return SIGN_BIT;
  return (bits & SIGN_BIT) !== 0 ? ~bits >>> 0 : (bits | SIGN_BIT) >>> 0;
}

/** Whether the raw bits of a float32 encode NaN. */
export function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) > EXPONENT_ALL_ONES;
}

/** The raw bits of a float32 array, without copying. */
export function float32Bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Options of {@linkcode radixSortKeys}. */
export interface RadixSortOptions {
  /**
   * Lets the sort overwrite `keys` and `payload` (used as scratch space and possibly returned),
   * saving one buffer of each. Default false: the inputs are left as they were.
   */
  reuseInput?: boolean;
}

/** Keys sorted ascending, with a payload permuted the same way. */
export interface SortedKeys {
  keys: Uint32Array;
  payload?: Int32Array;
}

// Three passes of 11, 11 and 10 bits: histograms stay in L1 and there is one pass fewer than
// with bytes.
const DIGITS: readonly { shift: number; size: number }[] = [
  { shift: 0, size: 2048 },
  { shift: 11, size: 2048 },
  { shift: 22, size: 1024 },
];

/**
 * Sorts uint32 keys ascending (stable LSD radix sort), carrying an optional int32 payload along.
 * The inputs are not modified unless `options.reuseInput`. A digit shared by all keys is
 * skipped, which is common for scores in a narrow range.
 *
 * @example
 * ```ts
 * import { radixSortKeys } from "./sort.ts";
 * const sorted = radixSortKeys(new Uint32Array([3, 1, 2]), new Int32Array([30, 10, 20]));
 * // sorted.keys = [1, 2, 3], sorted.payload = [10, 20, 30]
 * ```
 */
export function radixSortKeys(
  keys: Uint32Array,
  payload?: Int32Array,
  options: RadixSortOptions = {},
): SortedKeys {
  const n = keys.length;
  const reuseInput = options.reuseInput ?? false;
  if (payload !== undefined && payload.length !== n) {
    throw new Error(
      `radixSortKeys: payload has ${payload.length} entries but there are ${n} keys`,
    );
  }
  const histograms = DIGITS.map((digit) => new Uint32Array(digit.size));
  const [h0, h1, h2] = histograms;
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    h0[key & 2047]++;
    h1[(key >>> 11) & 2047]++;
    h2[key >>> 22]++;
  }
  let source = keys;
  let sourcePayload = payload;
  let target: Uint32Array | undefined;
  let targetPayload: Int32Array | undefined;
  for (let d = 0; d < DIGITS.length; d++) {
    const histogram = histograms[d];
    if (isSingleBucket(histogram, n)) continue;
    toExclusivePrefixSums(histogram);
    // Unless allowed, the inputs are never written: every pass goes to fresh buffers.
    if (target === undefined || (target === keys && !reuseInput)) target = new Uint32Array(n);
    if (
      payload !== undefined &&
      (targetPayload === undefined || (targetPayload === payload && !reuseInput))
    ) {
      targetPayload = new Int32Array(n);
    }
    const { shift, size } = DIGITS[d];
    scatterByDigit(source, sourcePayload, target, targetPayload, histogram, shift, size - 1);
    [source, target] = [target, source];
    [sourcePayload, targetPayload] = [targetPayload, sourcePayload];
  }
  if (source === keys && !reuseInput) source = keys.slice();
  if (payload !== undefined && sourcePayload === payload && !reuseInput) {
    sourcePayload = payload.slice();
  }
  return payload === undefined ? { keys: source } : { keys: source, payload: sourcePayload };
}

function isSingleBucket(histogram: Uint32Array, n: number): boolean {
  for (let b = 0; b < histogram.length; b++) {
    if (histogram[b] !== 0) return histogram[b] === n;
  }
  return true;
}

function toExclusivePrefixSums(histogram: Uint32Array): void {
  let sum = 0;
  for (let b = 0; b < histogram.length; b++) {
    const count = histogram[b];
    histogram[b] = sum;
    sum += count;
  }
}

function scatterByDigit(
  source: Uint32Array,
  sourcePayload: Int32Array | undefined,
  target: Uint32Array,
  targetPayload: Int32Array | undefined,
  offsets: Uint32Array,
  shift: number,
  digitMask: number,
): void {
  const n = source.length;
  if (sourcePayload === undefined || targetPayload === undefined) {
    for (let i = 0; i < n; i++) {
      const key = source[i];
      target[offsets[(key >>> shift) & digitMask]++] = key;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const key = source[i];
    const position = offsets[(key >>> shift) & digitMask]++;
    target[position] = key;
    targetPayload[position] = sourcePayload[i];
  }
}
