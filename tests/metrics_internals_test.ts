import { assert, assertEquals, assertThrows } from "@std/assert";
import { connectedComponents } from "../lib/metrics/connected_components.ts";
import { float32Bits, float32BitsToKey, isNaNBits, radixSortKeys } from "../lib/metrics/sort.ts";
import { sweepThresholds } from "../lib/metrics/threshold_curve.ts";
import { mulberry32 } from "../lib/util/random.ts";

Deno.test("float32 keys order like the floats; -0 and +0 share a key", () => {
  const values = new Float32Array([
    -Infinity,
    -3e38,
    -1,
    -1e-40,
    -0,
    0,
    1e-40,
    0.5,
    1,
    3e38,
    Infinity,
  ]);
  const keys = Array.from(float32Bits(values), float32BitsToKey);
  for (let i = 1; i < keys.length; i++) {
    if (i === 5) assertEquals(keys[i], keys[i - 1], "-0 and +0");
    else assert(keys[i] > keys[i - 1], `key of ${values[i]} above key of ${values[i - 1]}`);
  }
  assert(isNaNBits(float32Bits(new Float32Array([NaN]))[0]));
  assert(!isNaNBits(float32Bits(new Float32Array([Infinity]))[0]));
});

Deno.test("radixSortKeys: sorts like Array sort, stable, carries the payload, leaves input", () => {
  const rng = mulberry32(17);
  for (const [count, spread] of [[0, 1], [1, 1], [1000, 2 ** 32], [5000, 50], [3000, 2 ** 20]]) {
    const keys = Uint32Array.from({ length: count }, () => Math.floor(rng() * spread));
    const payload = Int32Array.from({ length: count }, (_, i) => i);
    const original = keys.slice();
    const sorted = radixSortKeys(keys, payload);
    const expected = Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b] || a - b);
    assertEquals(Array.from(sorted.payload!), expected);
    assertEquals(Array.from(sorted.keys), expected.map((i) => keys[i]));
    assertEquals(keys, original);
    assertEquals(Array.from(radixSortKeys(keys).keys), expected.map((i) => keys[i]));
    const reused = radixSortKeys(keys.slice(), payload.slice(), { reuseInput: true });
    assertEquals(Array.from(reused.keys), expected.map((i) => keys[i]));
    assertEquals(Array.from(reused.payload!), expected);
  }
  assertThrows(() => radixSortKeys(new Uint32Array(3), new Int32Array(2)), Error, "payload has 2");
});

Deno.test("sweepThresholds: one point per distinct threshold, weighted positives", () => {
  // Thresholds .9 .5 .1: positives above are 1, 2, 2; negatives 0, 1, 2.
  const curve = sweepThresholds([0.5, 0.9], [0.1, 0.5]);
  assertEquals(Array.from(curve.truePositives), [1, 2, 2]);
  assertEquals(Array.from(curve.falsePositives), [0, 1, 2]);
  const weighted = sweepThresholds([0.5, 0.9], [0.1, 0.5], [0.25, 0.75]);
  assertEquals(Array.from(weighted.truePositives), [0.75, 1, 1]);
  assertEquals(weighted.totalPositive, 1);
});

Deno.test("connectedComponents: 8- and 4-connectivity, sizes and ids", () => {
  const mask = new Uint8Array([
    ...[1, 1, 0, 0, 1],
    ...[0, 0, 1, 0, 1],
    ...[0, 0, 0, 0, 0],
    ...[1, 0, 1, 1, 1],
  ]);
  const eight = connectedComponents(mask, [4, 5]);
  // {(0,0),(0,1),(1,2)} joined diagonally; {(0,4),(1,4)}; {(3,0)}; {(3,2),(3,3),(3,4)}.
  assertEquals(eight.count, 4);
  assertEquals(Array.from(eight.sizes), [3, 2, 1, 3]);
  assertEquals(Array.from(eight.labels.slice(0, 5)), [0, 0, -1, -1, 1]);
  const four = connectedComponents(mask, [4, 5], 4);
  assertEquals(four.count, 5);
  assertEquals(Array.from(four.sizes), [2, 2, 1, 1, 3]);
  assertEquals(connectedComponents(new Uint8Array(6), [2, 3]).count, 0);
  const full = connectedComponents(new Uint8Array(6).fill(1), [2, 3]);
  assertEquals([full.count, full.sizes[0]], [1, 6]);
  assertThrows(() => connectedComponents(mask, [4, 4]), Error, "mask has 20 pixels");
});

Deno.test("connectedComponents: a large spiral is one region (no recursion limit)", () => {
  const size = 301;
  const mask = new Uint8Array(size * size);
  // A one-pixel-wide snake over every other row, joined at alternating ends.
  for (let r = 0; r < size; r += 2) {
    for (let c = 0; c < size; c++) mask[r * size + c] = 1;
    if (r + 1 < size) mask[(r + 1) * size + ((r / 2) % 2 === 0 ? size - 1 : 0)] = 1;
  }
  const components = connectedComponents(mask, [size, size]);
  assertEquals(components.count, 1);
  assertEquals(components.sizes[0], mask.reduce((sum, m) => sum + m, 0));
});
