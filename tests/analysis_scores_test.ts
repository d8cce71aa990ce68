import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  clusterScores,
  hungarian,
  matchClustersToClasses,
  normalizedMutualInfo,
  purity,
} from "../lib/analysis/mod.ts";
import { mulberry32 } from "../lib/util/random.ts";

Deno.test("hungarian: a 3x3 case solved by hand", () => {
  // Rows 0, 1, 2 -> columns 1, 0, 2: 1 + 2 + 2 = 5; the other five permutations cost 6..10.
  const { rowToColumn, cost } = hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
  assertEquals([...rowToColumn], [1, 0, 2]);
  assertEquals(cost, 5);
});

Deno.test("hungarian: rectangular matrices leave rows or columns unassigned", () => {
  const wide = hungarian([[5, 1, 9], [1, 5, 9]]);
  assertEquals([...wide.rowToColumn], [1, 0]);
  assertEquals(wide.cost, 2);
  const tall = hungarian([[5, 1], [1, 5], [0, 0]]);
  assertEquals(tall.cost, 0 + 1);
  assertEquals(new Set(tall.rowToColumn).size, 3, "two columns used once, one row unassigned");
  assert(tall.rowToColumn.includes(-1));
});

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) =>
    Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])
  );
}

Deno.test("hungarian: matches brute force on random 6x6 matrices", () => {
  const rng = mulberry32(5);
  const all = permutations(6);
  for (let trial = 0; trial < 20; trial++) {
    const cost = Array.from(
      { length: 6 },
      () => Array.from({ length: 6 }, () => Math.floor(rng() * 20)),
    );
    const best = Math.min(...all.map((p) => p.reduce((s, c, r) => s + cost[r][c], 0)));
    assertEquals(hungarian(cost).cost, best);
  }
});

Deno.test("hungarian: bad matrices are clear errors", () => {
  assertThrows(() => hungarian([[1, 2], [3]]), RangeError, "row 1 has 1 columns");
  assertThrows(() => hungarian([[1, NaN]]), RangeError, "not finite");
});

Deno.test("matchClustersToClasses: each cluster to the class it holds most of, one-to-one", () => {
  // Classes 0 and 2 both peak in cluster 1; one-to-one, class 2 gets it and class 0 takes cluster 2.
  const { clusterToClass, matched } = matchClustersToClasses([[1, 5, 4], [4, 0, 0], [0, 6, 1]]);
  assertEquals([...clusterToClass], [1, 2, 0]);
  assertEquals(matched, 4 + 6 + 4);
});

Deno.test("cluster scores on a hand-computed case", () => {
  // classes a a a b b b, clusters 0 0 1 1 1 1: table a [2, 1], b [0, 3]
  const s = clusterScores(["a", "a", "a", "b", "b", "b"], [0, 0, 1, 1, 1, 1], 2);
  assertEquals(s.confusion, [[2, 1], [0, 3]]);
  assertEquals(s.purity, 5 / 6);
  assertEquals(s.hungarianAccuracy, 5 / 6);
  assertEquals(s.clusterToClass, ["a", "b"]);
  const hc = Math.log(2);
  const hk = -(1 / 3) * Math.log(1 / 3) - (2 / 3) * Math.log(2 / 3);
  const mi = (1 / 3) * Math.log(2) + (1 / 6) * Math.log(0.5) + 0.5 * Math.log(1.5);
  assertAlmostEquals(s.homogeneity, mi / hc, 1e-12);
  assertAlmostEquals(s.completeness, mi / hk, 1e-12);
  assertAlmostEquals(s.nmi, mi / ((hc + hk) / 2), 1e-12);
  assertAlmostEquals(s.vMeasure, s.nmi, 1e-12); // V-measure = NMI with the arithmetic mean
  // ARI: sum C(n_ij, 2) = 4, rows 3 + 3, columns 1 + 6, C(6, 2) = 15
  const expected = 6 * 7 / 15;
  assertAlmostEquals(s.ari, (4 - expected) / ((6 + 7) / 2 - expected), 1e-12);
});

Deno.test("cluster scores: a perfect clustering under renaming scores 1", () => {
  const s = clusterScores(["x", "y", "y", "z"], [2, 0, 0, 1], 3);
  for (const v of [s.vMeasure, s.nmi, s.ari, s.purity, s.hungarianAccuracy]) assertEquals(v, 1);
  assertEquals(s.clusterToClass, ["y", "z", "x"]);
});

Deno.test("purity and NMI of small tables", () => {
  assertEquals(purity([[3, 1], [0, 2]]), 5 / 6);
  assertEquals(normalizedMutualInfo([[2, 0], [0, 2]]), 1);
  assertAlmostEquals(normalizedMutualInfo([[1, 1], [1, 1]]), 0, 1e-12);
});

Deno.test("cluster scores: bad input is a clear error", () => {
  assertThrows(() => clusterScores(["a"], [0, 1], 2), RangeError, "1 class names but 2");
  assertThrows(() => clusterScores(["a", "b"], [0, 2], 2), RangeError, "not in 0..1");
});
