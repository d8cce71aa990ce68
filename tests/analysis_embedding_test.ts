import { assertAlmostEquals, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { embed2d, pca, symmetricEigen } from "../lib/analysis/mod.ts";
import { mulberry32 } from "../lib/util/random.ts";

Deno.test("symmetricEigen: [[2, 1], [1, 2]] has eigenvalues 3 and 1", () => {
  const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
  assertAlmostEquals(values[0], 3, 1e-12);
  assertAlmostEquals(values[1], 1, 1e-12);
  assertAlmostEquals(Math.abs(vectors[0][0]), Math.SQRT1_2, 1e-12);
  assertAlmostEquals(vectors[0][0], vectors[0][1], 1e-12);
});

// Points (±2, 0) and (0, ±1), rotated by 30°: variances 8/3 and 2/3 along the rotated axes.
const angle = Math.PI / 6;
const rotate = ([x, y]: number[]) => [
  x * Math.cos(angle) - y * Math.sin(angle),
  x * Math.sin(angle) + y * Math.cos(angle),
];
const cross = [[2, 0], [-2, 0], [0, 1], [0, -1]];

Deno.test("pca: a known answer (covariance path)", () => {
  const { coordinates, variance, explained } = pca(cross.map(rotate), 2);
  assertAlmostEquals(variance[0], 8 / 3, 1e-9);
  assertAlmostEquals(variance[1], 2 / 3, 1e-9);
  assertAlmostEquals(explained[0], 0.8, 1e-9);
  // Signs fixed: each axis's largest-magnitude coordinate is positive.
  const expected = [[2, 0], [-2, 0], [0, 1], [0, -1]];
  coordinates.forEach((row, i) => {
    assertAlmostEquals(row[0], expected[i][0], 1e-9);
    assertAlmostEquals(row[1], expected[i][1], 1e-9);
  });
});

Deno.test("pca: more dimensions than points (Gram path) gives the same answer", () => {
  const padded = cross.map(rotate).map((p) => [...p, 0, 0, 0, 0, 0, 0, 0, 0]);
  const { coordinates, explained } = pca(padded, 2);
  assertAlmostEquals(explained[0], 0.8, 1e-9);
  assertAlmostEquals(coordinates[0][0], 2, 1e-9);
  assertAlmostEquals(coordinates[2][1], 1, 1e-9);
});

Deno.test("pca: bad input is a clear error", () => {
  assertThrows(() => pca([[1, 2]]), RangeError, "at least 2 points");
  assertThrows(() => pca([[1, 2], [1]]), RangeError, "point 1 has 1 values");
  assertThrows(() => pca([[1, 2], [3, 4]], 3), RangeError, "components");
});

function clusters(seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from(
    { length: 40 },
    (_, i) =>
      Float32Array.from(
        { length: 16 },
        (_, j) => (i % 2 === 0 ? j % 3 : 2 - (j % 3)) + rng() * 0.3,
      ),
  );
}

Deno.test("embed2d: UMAP is deterministic for a seed and changes with it", () => {
  const points = clusters(1);
  const a = embed2d(points, "umap", { seed: 7 });
  const b = embed2d(points, "umap", { seed: 7 });
  const c = embed2d(points, "umap", { seed: 8 });
  assertEquals(a.length, 40);
  assertEquals(a, b);
  assertNotEquals(a, c);
});

Deno.test("embed2d: PCA separates two groups on the first axis; bad input is an error", () => {
  const xy = embed2d(clusters(2), "pca");
  const even = xy.filter((_, i) => i % 2 === 0).map(([x]) => Math.sign(x));
  const odd = xy.filter((_, i) => i % 2 === 1).map(([x]) => Math.sign(x));
  assertEquals(new Set(even).size, 1);
  assertEquals(new Set(odd).size, 1);
  assertNotEquals(even[0], odd[0]);
  assertThrows(() => embed2d(clusters(1).slice(0, 2), "umap"), RangeError, "at least 3");
  assertThrows(() => embed2d(clusters(1), "tsne" as never), RangeError, "unknown embedding");
});
