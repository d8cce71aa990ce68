/**
 * Bounded memory outside training: the decode cache (LRU by bytes, 8-bit storage, exact floats)
 * and evaluation class by class (exactly the metrics of the whole-set evaluation).
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { batchIterator } from "../lib/data/batches.ts";
import { BoundedDecodeCache } from "../lib/data/decode_cache.ts";
import { readDataset } from "../lib/data/read_dataset.ts";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { evaluateByClass, predictRecords } from "../lib/experiment/predict.ts";
import { combineClassEvaluations, evaluate } from "../lib/metrics/evaluate.ts";
import type { Objective, Prediction } from "../lib/methods/types.ts";

Deno.test("decode cache: 8-bit images are stored as bytes and come back identical", () => {
  const cache = new BoundedDecodeCache({ maxBytes: 1000 });
  const image = Float32Array.from({ length: 300 }, (_, i) => (i % 256) * (1 / 255));
  cache.set("image", image);
  assertEquals(cache.bytes, 300); // one byte per value
  assertEquals(cache.get("image"), image);
  // Values that are not 8-bit levels are kept as floats, exactly.
  const odd = Float32Array.from([0.1234567, 0.5]);
  cache.set("odd", odd);
  assertEquals(cache.bytes, 308);
  assertEquals(cache.get("odd"), odd);
  const mask = Uint8Array.from([0, 1, 1, 0]);
  cache.set("mask", mask);
  assertEquals(cache.get("mask"), mask);
  assertEquals(cache.size, 3);
  assertThrows(() => new BoundedDecodeCache({ maxBytes: -1 }), RangeError, "maxBytes");
});

Deno.test("decode cache: least recently used entries go first; the byte bound holds", () => {
  const cache = new BoundedDecodeCache({ maxBytes: 10 });
  const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
  cache.set("a", bytes(4, 1));
  cache.set("b", bytes(4, 2));
  cache.get("a"); // a is now more recent than b
  cache.set("c", bytes(4, 3)); // 12 > 10: b goes
  assertEquals(cache.get("b"), undefined);
  assertEquals(cache.get("a"), bytes(4, 1));
  assertEquals(cache.get("c"), bytes(4, 3));
  assertEquals(cache.bytes, 8);
  cache.set("huge", bytes(11, 4)); // larger than the bound: not kept, nothing evicted
  assertEquals(cache.get("huge"), undefined);
  assertEquals(cache.size, 2);
  cache.set("a", bytes(2, 5)); // replacing an entry updates the byte count
  assertEquals(cache.bytes, 6);
  assertEquals(cache.stats.hits, 3);
  assertEquals(cache.stats.misses, 2);
});

async function tinyDataset(classes: string[]) {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-memory-eval-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 2,
    testGoodPerClass: 3,
    testBadPerClass: 4,
    classes,
  });
  return await readDataset(root);
}

Deno.test("decode cache: batches through a small bounded cache equal uncached ones", async () => {
  const dataset = await tinyDataset(["woven", "pill"]);
  const test = dataset.records.filter((r) => r.split === "test");
  const options = { batchSize: 3, size: 32, withMasks: true };
  const collect = async (cache?: BoundedDecodeCache) => {
    const out = [];
    for await (const batch of batchIterator(test, { ...options, cache })) out.push(batch);
    return out;
  };
  const plain = await collect();
  // Room for about three images: every pass evicts, and what is served is still exact.
  const small = new BoundedDecodeCache({ maxBytes: 3 * 32 * 32 * 3 });
  assertEquals(await collect(small), plain);
  assertEquals(await collect(small), plain);
  assert(small.bytes <= small.maxBytes);
  // Room for everything: the second pass is served from 8-bit storage, identically.
  const roomy = new BoundedDecodeCache();
  assertEquals(await collect(roomy), plain);
  const misses = roomy.stats.misses;
  assertEquals(await collect(roomy), plain);
  assertEquals(roomy.stats.misses, misses, "the second pass decodes nothing");
  assert(roomy.bytes < test.length * 32 * 32 * 4, "images held as bytes, not floats");
});

/** A fixed "model": the anomaly map is the image's red channel, the score its maximum. */
const redChannel: Objective = {
  name: "red",
  needsAugmentedView: false,
  parameterGroups: () => [],
  losses: () => {
    throw new Error("not trained");
  },
  namedVariables: () => new Map(),
  compactFeatures: () => {
    throw new Error("unused");
  },
  predict(images: tf.Tensor4D): Prediction {
    return tf.tidy(() => {
      const maps = tf.squeeze(tf.slice(images, [0, 0, 0, 0], [-1, -1, -1, 1]), [3]) as tf.Tensor3D;
      return { maps, scores: tf.max(maps, [1, 2]) as tf.Tensor1D };
    });
  },
};

Deno.test("evaluation class by class gives exactly the whole-set metrics", async () => {
  await selectBackend({ requested: "wasm", log: false });
  const dataset = await tinyDataset(["woven", "pill", "grid"]);
  const test = dataset.records.filter((r) => r.split === "test");
  const options = { size: 32, batchSize: 4, progress: "silent" as const };
  const before = tf.memory().numTensors;
  const whole = await predictRecords(redChannel, test, options);
  const expected = evaluate({
    scores: whole.scores,
    maps: whole.maps,
    masks: whole.masks,
    classNames: whole.classNames,
    shape: [32, 32],
  });
  const streamed = await evaluateByClass(redChannel, test, options);
  const combined = combineClassEvaluations(streamed.classes);
  assertEquals(combined, expected);
  assertEquals(streamed.classes.map((c) => c.className), expected.classes);
  assertEquals(expected.classes.length, 3);
  // Every image's score is kept, in class order, for per-image reports.
  assertEquals(streamed.scored.records.length, test.length);
  streamed.scored.records.forEach((record, i) => {
    assertEquals(streamed.scored.scores[i], whole.scores[test.indexOf(record)]);
  });
  assertEquals(tf.memory().numTensors, before);
});
