import * as tf from "@tensorflow/tfjs-core";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { join, relative } from "@std/path";
import { loadBackbone } from "../lib/backbones/registry.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";
import {
  classIdsFromPseudoLabels,
  parsePseudoLabels,
  readPseudoLabels,
} from "../lib/ccl/labels.ts";
import {
  adjustedRandIndex,
  canonicalClusterIds,
  clusterRecords,
  contingencyMatrix,
  formatPseudoLabelReport,
  kmeans,
  makePseudoLabels,
  pooledFeatureDimension,
  pooledFeatures,
  reportPathFor,
  vMeasure,
  writePseudoLabels,
} from "../lib/clustering/mod.ts";
import { readDataset } from "../lib/data/read_dataset.ts";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import type { SampleRecord } from "../lib/data/types.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";
import { createFakeBackbone } from "./_fake_backbone.ts";

await selectBackend({ requested: "wasm", log: false });

/** `perBlob` points around each centre with standard deviation `spread`, blob by blob. */
function gaussianBlobs(
  centres: number[][],
  perBlob: number,
  spread: number,
  seed: number,
): { points: Float32Array[]; truth: number[] } {
  const rng = mulberry32(seed);
  const points: Float32Array[] = [];
  const truth: number[] = [];
  centres.forEach((centre, blob) => {
    for (let i = 0; i < perBlob; i++) {
      points.push(Float32Array.from(centre, (v) => v + spread * randomNormal(rng)));
      truth.push(blob);
    }
  });
  return { points, truth };
}

/** Points with coordinates uniform in [0, 1). */
function uniformPoints(n: number, d: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng()));
}

function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let c = 0; c < a.length; c++) sum += (a[c] - b[c]) ** 2;
  return sum;
}

/** Four blobs on the axes of 8-d space, 10 apart, spread 0.5: no point is ambiguous. */
const BLOB_CENTRES = [0, 1, 2, 3].map((axis) =>
  Array.from({ length: 8 }, (_, c) => (c === axis ? 10 : 0))
);

Deno.test("kmeans recovers well-separated Gaussian blobs exactly", () => {
  const { points, truth } = gaussianBlobs(BLOB_CENTRES, 40, 0.5, 11);
  const result = kmeans(points, 4, { seed: 3 });
  assertEquals(vMeasure(truth, result.assignments).vMeasure, 1);
  assertEquals(adjustedRandIndex(truth, result.assignments), 1);
  assert(result.converged);
  // Each centroid is the mean of its blob's points.
  for (let j = 0; j < 4; j++) {
    const members = points.filter((_, i) => result.assignments[i] === j);
    const mean = Array.from(
      { length: 8 },
      (_, c) => members.reduce((s, p) => s + p[c], 0) / members.length,
    );
    for (let c = 0; c < 8; c++) assertAlmostEquals(result.centroids[j][c], mean[c], 1e-5);
  }
  // The inertia is the sum of squared distances to the assigned centroids.
  const inertia = points.reduce(
    (s, p, i) => s + squaredDistance(p, result.centroids[result.assignments[i]]),
    0,
  );
  assertAlmostEquals(result.inertia, inertia, 1e-6 * inertia);
});

Deno.test("kmeans: converged labels are a Lloyd fixed point (every point at its nearest centroid)", () => {
  const points = uniformPoints(300, 5, 2);
  const result = kmeans(points, 6, { seed: 1, tolerance: 0 });
  assert(result.converged);
  points.forEach((p, i) => {
    const own = squaredDistance(p, result.centroids[result.assignments[i]]);
    for (const centroid of result.centroids) {
      assert(own <= squaredDistance(p, centroid) + 1e-9, `point ${i} has a nearer centroid`);
    }
  });
});

Deno.test("kmeans: the same seed gives the same result; packed and row inputs agree", () => {
  const points = uniformPoints(400, 16, 5);
  const a = kmeans(points, 7, { seed: 42 });
  const b = kmeans(points, 7, { seed: 42 });
  assertEquals(a.assignments, b.assignments);
  assertEquals(a.centroids, b.centroids);
  assertEquals(a.inertia, b.inertia);
  const data = new Float32Array(400 * 16);
  points.forEach((p, i) => data.set(p, i * 16));
  const packed = kmeans({ data, n: 400, d: 16 }, 7, { seed: 42 });
  assertEquals(packed.assignments, a.assignments);
  assertEquals(packed.inertia, a.inertia);
});

Deno.test("kmeans: the best of several restarts is never worse than one restart", () => {
  const points = uniformPoints(200, 4, 8);
  const single = kmeans(points, 9, { seed: 4, restarts: 1 });
  const many = kmeans(points, 9, { seed: 4, restarts: 10 });
  assert(many.inertia <= single.inertia);
  // Restart 0 of both runs draws from the same seeded stream, so it is the same run.
  if (many.restart === 0) assertEquals(many.inertia, single.inertia);
});

Deno.test("kmeans: k-means++ initialisation is seeded and spreads the first centres", () => {
  // Three tight groups far apart: k-means++ puts one initial centre in each, so one Lloyd
  // iteration already separates them, whatever the seed.
  const { points, truth } = gaussianBlobs([[0, 0], [100, 0], [0, 100]], 20, 0.1, 1);
  for (let seed = 0; seed < 10; seed++) {
    const result = kmeans(points, 3, { seed, restarts: 1, maxIterations: 1 });
    assertEquals(vMeasure(truth, result.assignments).vMeasure, 1, `seed ${seed}`);
  }
  // The initial centres depend on the seed (and only on it): on structureless data, single
  // iterations from different seeds end in different places.
  const noise = uniformPoints(100, 2, 3);
  const once = (seed: number) => kmeans(noise, 8, { seed, restarts: 1, maxIterations: 1 });
  assertEquals(once(5).centroids, once(5).centroids);
  const distinct = new Set([0, 1, 2, 3, 4].map((seed) => once(seed).inertia));
  assert(distinct.size > 1, "five seeds gave the same k-means++ start");
});

Deno.test("kmeans: random initialisation is seeded too", () => {
  const { points, truth } = gaussianBlobs(BLOB_CENTRES, 30, 0.5, 12);
  const a = kmeans(points, 4, { seed: 9, init: "random" });
  assertEquals(vMeasure(truth, a.assignments).vMeasure, 1);
  assertEquals(kmeans(points, 4, { seed: 9, init: "random" }).assignments, a.assignments);
  assertThrows(
    () => kmeans(points, 4, { init: "kmeans" as "random" }),
    RangeError,
    'init must be "k-means++", "random" or centroids',
  );
});

Deno.test("kmeans: an empty cluster is re-seeded with the farthest point", () => {
  const { points, truth } = gaussianBlobs([[0, 0], [20, 0], [0, 20]], 10, 0.2, 6);
  // Two starting centroids in blob 0 and one far from everything: the far one attracts no
  // point in the first assignment, so it must be re-seeded (at the farthest point, which lies
  // in blob 1 or 2); Lloyd then separates the three blobs.
  const init = [points[0], points[1], Float32Array.of(1000, 1000)];
  const result = kmeans(points, 3, { init, seed: 0 });
  const sizes = [0, 1, 2].map((j) => result.assignments.filter((a) => a === j).length);
  assert(sizes.every((s) => s > 0), `empty cluster left: sizes ${sizes}`);
  assertEquals(vMeasure(truth, result.assignments).vMeasure, 1);
  // No centroid stays far away.
  assert(result.centroids.every((c) => Math.hypot(c[0], c[1]) < 30));
});

Deno.test("kmeans: more clusters than distinct points still gives k non-empty clusters", () => {
  const points = [0, 0, 0, 1, 1, 1].map((v) => Float32Array.of(v, v));
  const a = kmeans(points, 4, { seed: 2 });
  const b = kmeans(points, 4, { seed: 2 });
  assertEquals(a.assignments, b.assignments);
  const sizes = [0, 1, 2, 3].map((j) => a.assignments.filter((x) => x === j).length);
  assert(sizes.every((s) => s > 0), `sizes ${sizes}`);
  assertEquals(a.inertia, 0); // no cluster mixes the two values
  assert(a.centroids.every((c) => c.every(Number.isFinite)));
});

Deno.test("kmeans: k = 1 gives the mean; k = n gives inertia 0", () => {
  const points = uniformPoints(10, 3, 9);
  const one = kmeans(points, 1);
  for (let c = 0; c < 3; c++) {
    assertAlmostEquals(one.centroids[0][c], points.reduce((s, p) => s + p[c], 0) / 10, 1e-6);
  }
  assertEquals(kmeans(points, 10, { seed: 1 }).inertia, 0);
});

Deno.test("kmeans: reaches the optimal 2-partition of a small point set", () => {
  // Exhaustive search over all 2^9 splits of 10 points (point 0 fixed in cluster 0).
  const points = uniformPoints(10, 2, 21);
  let optimum = Infinity;
  for (let mask = 0; mask < 1 << 9; mask++) {
    const groups: Float32Array[][] = [[points[0]], []];
    for (let i = 1; i < 10; i++) groups[(mask >> (i - 1)) & 1].push(points[i]);
    if (groups[1].length === 0) continue;
    let cost = 0;
    for (const group of groups) {
      const mean = [0, 1].map((c) => group.reduce((s, p) => s + p[c], 0) / group.length);
      cost += group.reduce((s, p) => s + squaredDistance(p, mean), 0);
    }
    optimum = Math.min(optimum, cost);
  }
  assertAlmostEquals(kmeans(points, 2, { seed: 0 }).inertia, optimum, 1e-6);
});

Deno.test("kmeans: bad input is a clear error", () => {
  const points = uniformPoints(5, 2, 1);
  assertThrows(() => kmeans(points, 6), RangeError, "k must be an integer in [1, 5]");
  assertThrows(() => kmeans(points, 0), RangeError, "k must be");
  assertThrows(() => kmeans([], 1), RangeError, "no points");
  assertThrows(
    () => kmeans([Float32Array.of(1, 2), Float32Array.of(1)], 1),
    RangeError,
    "point 1 has 1 values",
  );
  assertThrows(
    () => kmeans([Float32Array.of(1, 2), Float32Array.of(1, NaN)], 1),
    RangeError,
    "point 1 has a non-finite value",
  );
  assertThrows(() => kmeans({ data: new Float32Array(5), n: 2, d: 3 }, 1), RangeError, "n * d");
  assertThrows(() => kmeans(points, 2, { init: [points[0]] }), RangeError, "init gives 1");
});

// Its speed (about 0.8 s on 2 cores) is measured in bench/clustering_bench.ts, not asserted here.
Deno.test("kmeans: 3000 well-separated 512-d points in 15 blobs are recovered exactly", () => {
  const rng = mulberry32(17);
  const centres = Array.from(
    { length: 15 },
    () => Array.from({ length: 512 }, () => randomNormal(rng)),
  );
  const { points, truth } = gaussianBlobs(centres, 200, 1, 18);
  const result = kmeans(points, 15, { seed: 0 });
  assertEquals(vMeasure(truth, result.assignments).vMeasure, 1);
});

// Hand-derived case A: truth [0, 0, 1, 1], clusters [0, 0, 0, 1], natural logs.
//   Contingency: class 0 -> cluster 0: 2; class 1 -> cluster 0: 1, cluster 1: 1 (n = 4).
//   H(C) = ln 2 (two classes of 2).
//   H(K) = -(3/4 ln 3/4 + 1/4 ln 1/4) = 2 ln 2 - 3/4 ln 3 (clusters of 3 and 1).
//   I(C;K) = sum p_ck ln(p_ck / (p_c p_k))
//          = 1/2 ln((1/2)/(1/2 * 3/4)) + 1/4 ln((1/4)/(1/2 * 3/4)) + 1/4 ln((1/4)/(1/2 * 1/4))
//          = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2 = 3/2 ln 2 - 3/4 ln 3.
//   h = I / H(C) = 3/2 - 3/4 log2 3 ~ 0.3113;  c = I / H(K) ~ 0.3837;  V = 2hc / (h + c) ~ 0.3437.
const CASE_A_MI = 1.5 * Math.LN2 - 0.75 * Math.log(3);
const CASE_A_H = CASE_A_MI / Math.LN2;
const CASE_A_C = CASE_A_MI / (2 * Math.LN2 - 0.75 * Math.log(3));

Deno.test("vMeasure: hand-derived case", () => {
  const scores = vMeasure([0, 0, 1, 1], [0, 0, 0, 1]);
  assertAlmostEquals(scores.homogeneity, CASE_A_H, 1e-12);
  assertAlmostEquals(scores.completeness, CASE_A_C, 1e-12);
  assertAlmostEquals(scores.vMeasure, (2 * CASE_A_H * CASE_A_C) / (CASE_A_H + CASE_A_C), 1e-12);
  assertAlmostEquals(scores.homogeneity, 0.311278, 1e-6);
  assertAlmostEquals(scores.vMeasure, 0.343712, 1e-6);
  // beta weighs completeness: V_beta = (1 + beta) h c / (beta h + c).
  assertAlmostEquals(
    vMeasure([0, 0, 1, 1], [0, 0, 0, 1], 2).vMeasure,
    (3 * CASE_A_H * CASE_A_C) / (2 * CASE_A_H + CASE_A_C),
    1e-12,
  );
  // Swapping the roles swaps homogeneity and completeness.
  const swapped = vMeasure([0, 0, 0, 1], [0, 0, 1, 1]);
  assertAlmostEquals(swapped.homogeneity, CASE_A_C, 1e-12);
  assertAlmostEquals(swapped.completeness, CASE_A_H, 1e-12);
});

Deno.test("vMeasure: degenerate cases follow scikit-learn", () => {
  // One class: H(C) = 0 -> homogeneity 1; I = 0 and H(K) = ln 3 -> completeness 0; V = 0.
  assertEquals(vMeasure([0, 0, 0], [0, 1, 2]), { homogeneity: 1, completeness: 0, vMeasure: 0 });
  // One cluster: H(K) = 0 -> completeness 1; I = 0 -> homogeneity 0; V = 0.
  assertEquals(vMeasure([0, 1], [5, 5]), { homogeneity: 0, completeness: 1, vMeasure: 0 });
  // One class and one cluster: both 1.
  assertEquals(vMeasure([1, 1], [2, 2]), { homogeneity: 1, completeness: 1, vMeasure: 1 });
  assertEquals(vMeasure([], []), { homogeneity: 1, completeness: 1, vMeasure: 1 });
  // Independent: I = 0 with both entropies ln 2 -> 0, 0 and V = 0 (no 0/0).
  assertEquals(vMeasure([0, 0, 1, 1], [0, 1, 0, 1]), {
    homogeneity: 0,
    completeness: 0,
    vMeasure: 0,
  });
  // Every item its own cluster: perfectly homogeneous, completeness ln 2 / ln 4 = 1/2.
  const singletons = vMeasure([0, 0, 1, 1], [0, 1, 2, 3]);
  assertAlmostEquals(singletons.homogeneity, 1, 1e-12);
  assertAlmostEquals(singletons.completeness, 0.5, 1e-12);
  assertAlmostEquals(singletons.vMeasure, 2 / 3, 1e-12);
});

Deno.test("vMeasure: perfect and permuted labelings score 1, independent ones near 0", () => {
  const truth = ["a", "a", "b", "b", "c", "c"];
  assertEquals(vMeasure(truth, truth).vMeasure, 1);
  assertEquals(vMeasure(truth, [2, 2, 0, 0, 1, 1]).vMeasure, 1);
  assertEquals(vMeasure(truth, Int32Array.of(7, 7, 3, 3, 9, 9)).vMeasure, 1);
  const rng = mulberry32(4);
  const n = 3000;
  const classes = Array.from({ length: n }, () => Math.floor(rng() * 5));
  const clusters = Array.from({ length: n }, () => Math.floor(rng() * 5));
  const independent = vMeasure(classes, clusters);
  assert(independent.vMeasure < 0.01, `independent labels gave V = ${independent.vMeasure}`);
  assert(Math.abs(adjustedRandIndex(classes, clusters)) < 0.01);
});

Deno.test("vMeasure and adjustedRandIndex reject labelings of different lengths", () => {
  assertThrows(() => vMeasure([0, 1], [0]), RangeError, "labelsTrue has 2 items");
  assertThrows(() => adjustedRandIndex([0], [0, 1]), RangeError, "labelsPred has 2");
  assertThrows(() => vMeasure([0, NaN], [0, 1]), TypeError, "labelsTrue[1]");
});

Deno.test("adjustedRandIndex: hand-derived cases", () => {
  // ARI = (index - expected) / (max - expected), index = sum C(n_ck, 2),
  // expected = sum C(a_c, 2) sum C(b_k, 2) / C(n, 2), max = (sum C(a_c, 2) + sum C(b_k, 2)) / 2.
  // [0,0,1,1] vs [0,0,1,2]: index 1, rows 1 + 1 = 2, cols 1, C(4,2) = 6: (1 - 1/3) / (3/2 - 1/3) = 4/7.
  assertAlmostEquals(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), 4 / 7, 1e-12);
  // [0,0,0,1,1,1] vs [0,0,1,1,2,2]: index 2, rows 6, cols 3, C(6,2) = 15:
  //   expected 18/15 = 1.2, max 4.5 -> 0.8 / 3.3 = 8/33.
  assertAlmostEquals(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]), 8 / 33, 1e-12);
  // [0,0,1,1] vs [0,0,0,1]: index 1, rows 2, cols 3: expected 1 = index -> 0.
  assertAlmostEquals(adjustedRandIndex([0, 0, 1, 1], [0, 0, 0, 1]), 0, 1e-12);
  assertEquals(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 1);
  assertEquals(adjustedRandIndex([0, 1, 2], [5, 6, 7]), 1); // all singletons both ways
});

Deno.test("contingencyMatrix counts items per class and cluster", () => {
  const table = contingencyMatrix(["b", "a", "a", "b", "b"], [1, 0, 1, 1, 2]);
  assertEquals(table.classes, ["a", "b"]);
  assertEquals(table.clusters, [0, 1, 2]);
  assertEquals(table.counts, [[1, 1, 0], [0, 2, 1]]);
  assertEquals(table.n, 5);
});

Deno.test("canonicalClusterIds numbers clusters by first appearance", () => {
  assertEquals(canonicalClusterIds([4, 4, 1, 0, 1, 4]), Int32Array.of(0, 0, 1, 2, 1, 0));
});

Deno.test("reportPathFor puts the report beside the labels", () => {
  assertEquals(
    reportPathFor("results/pseudo_labels/synthetic-k7.json"),
    "results/pseudo_labels/synthetic-k7.report.json",
  );
  assertEquals(reportPathFor("labels"), "labels.report.json");
});

/** A tiny synthetic dataset: 3 classes x 6 training images at 64 x 64. */
async function tinyDataset(dir: string) {
  await ensureSynthDataset(dir, {
    size: 64,
    seed: 0,
    trainPerClass: 6,
    testGoodPerClass: 1,
    testBadPerClass: 1,
    classes: ["woven", "grid", "screw"],
  });
  return await readDataset(dir);
}

function trainRecords(records: readonly SampleRecord[]): SampleRecord[] {
  return records.filter((r) => r.split === "train");
}

Deno.test("pooledFeatures: pooled last stage or all stages, optionally L2-normalised", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-clustering-" });
  const backbone = createFakeBackbone([8, 16, 32], 3);
  try {
    const records = trainRecords((await tinyDataset(join(dir, "synth"))).records).slice(0, 5);
    const raw = await pooledFeatures(backbone, records, {
      size: 64,
      batchSize: 2,
      normalize: false,
    });
    assertEquals(raw.length, 5);
    assertEquals(raw[0].length, pooledFeatureDimension(backbone));
    // Same numbers as pooling the backbone's last stage directly.
    const { loadBatch } = await import("../lib/data/batches.ts");
    const batch = await loadBatch(records, { size: 64 });
    const expected = tf.tidy(() => {
      const maps = backbone.apply(tf.tensor4d(batch.images, batch.shape));
      return tf.mean(maps[2], [1, 2]).arraySync() as number[][];
    });
    expected.forEach((row, i) => row.forEach((v, c) => assertAlmostEquals(raw[i][c], v, 1e-5)));

    const progress: number[] = [];
    const all = await pooledFeatures(backbone, records, {
      size: 64,
      batchSize: 2,
      stages: "all",
      onProgress: (done, total) => {
        assertEquals(total, 5);
        progress.push(done);
      },
    });
    assertEquals(progress, [0, 2, 4, 5]);
    assertEquals(all[0].length, 8 + 16 + 32);
    assertEquals(pooledFeatureDimension(backbone, "all"), 56);
    for (const vector of all) {
      // Each stage is scaled to norm 1/sqrt(3), so the whole vector has norm 1.
      assertAlmostEquals(Math.hypot(...vector), 1, 1e-5);
      assertAlmostEquals(Math.hypot(...vector.subarray(24)), 1 / Math.sqrt(3), 1e-5);
    }
  } finally {
    backbone.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pseudo-labels end to end on a tiny synthetic dataset round-trip through the trainer's reader", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-clustering-" });
  try {
    const root = join(dir, "synth");
    const dataset = await tinyDataset(root);
    const train = trainRecords(dataset.records);
    const result = await makePseudoLabels({
      data: join(dir, "synth"),
      backbone: "small_resnet",
      size: 64,
      seed: 0,
      restarts: 3,
    });
    const { report, labels } = result;
    assertEquals(report.k, 3); // default: the number of classes
    assertEquals(report.images, 18);
    assertEquals(report.classes, ["grid", "screw", "woven"]);
    assertEquals(report.featureDimension, 128);
    assertEquals(report.clusterSizes.reduce((a, b) => a + b, 0), 18);
    assert(report.clusterSizes.every((s) => s > 0));
    // Contingency columns add up to the 6 images of each class.
    for (let c = 0; c < 3; c++) {
      assertEquals(report.contingency.reduce((s, row) => s + row[c], 0), 6);
    }

    // The file holds exactly the parser's format and covers every training image.
    const labelsPath = join(dir, "out", "tiny-k3.json");
    const { reportPath } = await writePseudoLabels(labelsPath, result);
    const parsed = parsePseudoLabels(JSON.parse(await Deno.readTextFile(labelsPath)), labelsPath);
    assertEquals(parsed.size, 18);
    const ids = classIdsFromPseudoLabels(
      train.map((r) => r.imagePath),
      await readPseudoLabels(labelsPath),
      labelsPath,
      root,
    );
    assertEquals([...ids], train.map((r) => labels[relative(root, r.imagePath)]));
    assert([...ids].every((id) => id >= 0 && id < 3));

    // The report's scores are those of the written labels against the true classes.
    const scores = vMeasure(train.map((r) => r.className), ids);
    assertAlmostEquals(report.vMeasure, scores.vMeasure, 1e-12);
    assertAlmostEquals(report.homogeneity, scores.homogeneity, 1e-12);
    const savedReport = JSON.parse(await Deno.readTextFile(reportPath));
    assertEquals(savedReport.vMeasure, report.vMeasure);
    assertEquals(savedReport.contingency, report.contingency);
    // Provenance: the dataset's root (absolute, being outside the repository) and fingerprint.
    assertEquals(savedReport.root, root);
    assertEquals(savedReport.datasetFingerprint.classes, ["grid", "screw", "woven"]);
    assertEquals(savedReport.datasetFingerprint.train.images, 18);
    // The report is not a label file, and the reader says so.
    await assertRejects(
      () => readPseudoLabels(reportPath),
      Error,
      "must be a non-negative integer",
    );

    const text = formatPseudoLabelReport(report);
    assert(text.includes("V-measure"));
    assert(text.includes("grid") && text.includes("woven"));

    // Same seed, same labels (features are deterministic, k-means is seeded).
    const backbone = await loadBackbone("small_resnet");
    try {
      const again = await clusterRecords(backbone, train, { root, size: 64, seed: 0, restarts: 3 });
      assertEquals(again.labels, labels);
      const other = await clusterRecords(backbone, train, { size: 64, k: 2, seed: 0, restarts: 3 });
      assertEquals(other.report.k, 2);
      assertNotEquals(other.labels, labels);
    } finally {
      backbone.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
