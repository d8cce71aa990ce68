/**
 * A bounded cache of decoded images and masks: least recently used entries are dropped once the
 * stored bytes exceed a limit, and 8-bit images are kept as one byte per value (a quarter of
 * their float size) and handed back as the exact floats they were stored from.
 * @module
 */

/** What `batchIterator` needs of a cache; a plain `Map` also fits (unbounded). */
export interface DecodeCacheLike {
  /** Entries held. */
  readonly size: number;
  get(key: string): Float32Array | Uint8Array | undefined;
  set(key: string, value: Float32Array | Uint8Array): unknown;
}

/** Default limit of a {@linkcode BoundedDecodeCache}: 1 GiB of stored bytes. */
export const DEFAULT_DECODE_CACHE_BYTES = 2 ** 30;

/** Options of {@linkcode BoundedDecodeCache}. */
export interface BoundedDecodeCacheOptions {
  /** Upper bound on the bytes held (default {@linkcode DEFAULT_DECODE_CACHE_BYTES}); 0 keeps nothing. */
  maxBytes?: number;
}

interface Entry {
  /** The stored values: bytes for 8-bit images and masks, the floats themselves otherwise. */
  data: Uint8Array | Float32Array;
  /** Whether `data` holds an 8-bit image that `get` turns back into floats in [0, 1]. */
  bytesOfFloats: boolean;
}

const SCALE = 1 / 255;

/**
 * `values` as bytes when every value is exactly `byte * (1 / 255)` as the image loader makes
 * them (so the floats come back bit for bit), else undefined.
 */
function asExactBytes(values: Float32Array): Uint8Array | undefined {
  const bytes = new Uint8Array(values.length);
  const check = new Float32Array(1);
  for (let i = 0; i < values.length; i++) {
    const byte = Math.round(values[i] * 255);
    if (!(byte >= 0 && byte <= 255)) return undefined;
    check[0] = byte * SCALE;
    if (check[0] !== values[i]) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}

/**
 * Decoded images (values in [0, 1]) and masks, keyed by path and size, in at most `maxBytes`
 * bytes, evicting the least recently used entries first. Float images whose values are all
 * 8-bit levels (`byte / 255`, as `loadImage` returns them) are stored as bytes and returned as
 * identical floats; anything else is stored as given. An entry larger than the limit is not
 * kept. Counts hits and misses for reporting.
 *
 * @example
 * ```ts
 * import { BoundedDecodeCache } from "./decode_cache.ts";
 * const cache = new BoundedDecodeCache({ maxBytes: 8 });
 * cache.set("a", Float32Array.from([0, 1 / 255, 1]));
 * cache.get("a"); // Float32Array [0, 0.00392..., 1] (3 bytes stored)
 * cache.set("b", new Uint8Array(6)); // 9 bytes > 8: "a" is evicted
 * cache.get("a"); // undefined
 * ```
 */
export class BoundedDecodeCache implements DecodeCacheLike {
  readonly maxBytes: number;
  #entries = new Map<string, Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(options: BoundedDecodeCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_DECODE_CACHE_BYTES;
    if (!(maxBytes >= 0) || !Number.isFinite(maxBytes)) {
      throw new RangeError(`decode cache: maxBytes must be a finite number >= 0, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Lookups that found / did not find their entry. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  get(key: string): Float32Array | Uint8Array | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    // Re-inserting moves the key to the end of the Map's order: most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (!entry.bytesOfFloats) return entry.data;
    const bytes = entry.data as Uint8Array;
    const values = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) values[i] = bytes[i] * SCALE;
    return values;
  }

  set(key: string, value: Float32Array | Uint8Array): this {
    this.delete(key);
    const bytes = value instanceof Float32Array ? asExactBytes(value) : undefined;
    const entry: Entry = bytes
      ? { data: bytes, bytesOfFloats: true }
      : { data: value.slice(), bytesOfFloats: false };
    if (entry.data.byteLength > this.maxBytes) return this;
    this.#entries.set(key, entry);
    this.#bytes += entry.data.byteLength;
    for (const [oldest, old] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= old.data.byteLength;
    }
    return this;
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.data.byteLength;
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}
