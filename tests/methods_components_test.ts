import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { meanFilterMaxScores, topKMeanScores } from "../lib/methods/components/scores.ts";
import { perlinNoise } from "../lib/methods/synthetic/perlin.ts";
import { synthesizeAnomalies } from "../lib/methods/synthetic/synthesize.ts";
import { mulberry32 } from "../lib/util/random.ts";

await tf.setBackend("cpu");

function cleanBatch(count: number, size: number): Float32Array {
  const rng = mulberry32(11);
  return Float32Array.from({ length: count * size * size * 3 }, () => rng());
}

Deno.test("synthesiser: pixels change exactly where the mask says, and the seed fixes all", () => {
  const size = 32, count = 6;
  const images = cleanBatch(count, size);
  const out = synthesizeAnomalies(
    { images, shape: [count, size, size] },
    { probability: 1 },
    mulberry32(4),
  );
  let inside = 0;
  for (let p = 0; p < count * size * size; p++) {
    const changed = [0, 1, 2].some((c) => out.images[p * 3 + c] !== images[p * 3 + c]);
    if (out.masks[p] === 0) assert(!changed, `pixel ${p} changed outside the mask`);
    else {
      inside++;
      assert(changed, `pixel ${p} inside the mask is unchanged`);
    }
  }
  assert(inside > 0, "some anomaly was pasted");
  assert(out.masks.every((m) => m === 0 || m === 1));
  const again = synthesizeAnomalies(
    { images, shape: [count, size, size] },
    { probability: 1 },
    mulberry32(4),
  );
  assertEquals(again.images, out.images);
  assertEquals(again.masks, out.masks);
  assertEquals(images, cleanBatch(count, size), "the clean images are not modified");
});

Deno.test("synthesiser: probability 0 pastes nothing; textures from a list are used", () => {
  const size = 32;
  const images = cleanBatch(2, size);
  const none = synthesizeAnomalies(
    { images, shape: [2, size, size] },
    { probability: 0 },
    mulberry32(1),
  );
  assertEquals(none.images, images);
  assert(none.masks.every((m) => m === 0));
  const red = new Float32Array(size * size * 3).map((_, i) => (i % 3 === 0 ? 1 : 0));
  const out = synthesizeAnomalies(
    { images, shape: [2, size, size] },
    { probability: 1, textures: [red], maxBeta: 0 },
    mulberry32(2),
  );
  for (let p = 0; p < 2 * size * size; p++) {
    if (out.masks[p] === 1) assertEquals([...out.images.subarray(p * 3, p * 3 + 3)], [1, 0, 0]);
  }
});

Deno.test("perlin noise: seeded, bounded, rotation changes the pattern", () => {
  const a = perlinNoise(32, 32, { resX: 4, resY: 2 }, mulberry32(5));
  assertEquals(a, perlinNoise(32, 32, { resX: 4, resY: 2 }, mulberry32(5)));
  assert(a.every((v) => Math.abs(v) <= 1.01));
  assert(a.some((v) => v > 0.2) && a.some((v) => v < -0.2));
  const rotated = perlinNoise(32, 32, { resX: 4, resY: 2, rotation: 45 }, mulberry32(5));
  assert(rotated.some((v, i) => v !== a[i]));
});

Deno.test("scores: top-k mean and mean-filtered max on constructed maps", () => {
  const map = tf.tensor3d([[[5, 1, 0, 0], [3, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 4]]]);
  assertAlmostEquals(topKMeanScores(map, 2).dataSync()[0], 4.5, 1e-6);
  assertAlmostEquals(topKMeanScores(map, 100).dataSync()[0], 13 / 16, 1e-6);
  // 3x3 mean (zeros padded): best window at the top-left corner: (5 + 1 + 3) / 9 = 1.
  assertAlmostEquals(meanFilterMaxScores(map, 3).dataSync()[0], 1, 1e-6);
  assertAlmostEquals(meanFilterMaxScores(map, 1).dataSync()[0], 5, 1e-6);
  map.dispose();
});
