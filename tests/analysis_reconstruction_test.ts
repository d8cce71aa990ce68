import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  classPrototypes,
  foreignRegionReport,
  partPrototypes,
  poolFeatures,
  reconstructionConfusion,
} from "../lib/analysis/mod.ts";

await tf.setBackend("cpu");
const v = (...x: number[]) => Float32Array.from(x);

Deno.test("reconstruction confusion: a constructed case with a known matrix", () => {
  // Three classes whose prototypes are the axes of R^3, two scales (the second a copy).
  const train = ["a", "a", "b", "c"];
  // The two "a" images average to (1, 0, 0) at both scales.
  const pooled = [
    [v(2, 0, 0), v(1, 0, 0)],
    [v(0, 0, 0), v(1, 0, 0)],
    [v(0, 1, 0), v(0, 1, 0)],
    [v(0, 0, 1), v(0, 0, 1)],
  ];
  const prototypes = classPrototypes(train, pooled);
  assertEquals(prototypes.classes, ["a", "b", "c"]);
  assertEquals([...prototypes.vectors[0][0]], [1, 0, 0]);
  // Test reconstructions: a->a, a->b, b->b, c->a, c->c, c->c.
  const toward = { a: v(1, 0.1, 0), b: v(0.1, 1, 0), c: v(0, 0.1, 1) };
  const truth = ["a", "a", "b", "c", "c", "c"];
  const nearest = ["a", "b", "b", "a", "c", "c"] as const;
  const recon = nearest.map((n) => [toward[n], toward[n]]);
  const confusion = reconstructionConfusion(truth, recon, prototypes);
  assertEquals(confusion.matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
  assertEquals(confusion.images, 6);
  assertAlmostEquals(confusion.offDiagonalShare, 2 / 6, 1e-12);
  assertThrows(
    () => reconstructionConfusion(["z"], [[toward.a, toward.a]], prototypes),
    RangeError,
    `class "z" has no prototype`,
  );
});

Deno.test("foreign regions: repaired, copied through and a third class, counted by nearest part", () => {
  // Class a has two parts (x and y axes), b one (z axis), c one (-x).
  const samples = [[[v(1, 0, 0), v(0, 1, 0)]], [[v(0, 0, 1), v(0, 0, 1)]], [[v(-1, 0, 0)]]];
  const parts = partPrototypes(["a", "b", "c"], samples, 2);
  assertEquals(parts.parts[0][0].length, 2);
  const many = (x: Float32Array) => [Array.from({ length: 8 }, () => x)];
  const regions = [
    // host a, pasted b: reconstruction lands on a's y part (repaired); target is b (seen).
    { host: "a", pasted: "b", reconstruction: many(v(0, 1, 0.1)), target: many(v(0, 0.1, 1)) },
    // host a, pasted b: copied through.
    { host: "a", pasted: "b", reconstruction: many(v(0, 0.1, 1)), target: many(v(0, 0.1, 1)) },
    // host b, pasted a: toward c (a third class); target nearest a's x part.
    { host: "b", pasted: "a", reconstruction: many(v(-1, 0, 0.1)), target: many(v(1, 0, 0)) },
  ];
  const report = foreignRegionReport(regions, parts);
  assertEquals(report.regions, 3);
  assertAlmostEquals(report.towardHost, 1 / 3, 1e-12);
  assertAlmostEquals(report.towardPasted, 1 / 3, 1e-12);
  assertAlmostEquals(report.towardOther, 1 / 3, 1e-12);
  assertEquals(report.targetNearestPasted, 1);
  assertThrows(
    () => foreignRegionReport([{ ...regions[0], pasted: "q" }], parts),
    RangeError,
    `no prototype for "q"`,
  );
});

Deno.test("poolFeatures: whole-map and mask-weighted means; no tensor leaks", () => {
  const before = tf.memory().numTensors;
  // One image, a 2x2 map with one channel: values 1, 2, 3, 4.
  const map = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  // 4x4 mask covering the top-left 2x2 block (the map's top-left cell) and one pixel of the
  // top-right block (a quarter of that cell's area).
  const mask = tf.tensor3d([1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 4, 4]);
  const [whole] = poolFeatures([map]);
  const [masked] = poolFeatures([map], mask);
  assertAlmostEquals(whole.dataSync()[0], 2.5, 1e-6);
  // weights 1 (cell 1) and 0.25 (cell 2): (1 * 1 + 0.25 * 2) / 1.25
  assertAlmostEquals(masked.dataSync()[0], 1.5 / 1.25, 1e-6);
  const odd = tf.zeros([1, 3, 3]) as tf.Tensor3D;
  assertThrows(() => poolFeatures([map], odd), RangeError, "tile");
  tf.dispose([map, mask, whole, masked, odd]);
  assertEquals(tf.memory().numTensors, before);
});
