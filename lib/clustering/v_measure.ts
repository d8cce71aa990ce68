/**
 * External clustering scores, computed exactly as scikit-learn computes them: homogeneity,
 * completeness and V-measure (Rosenberg & Hirschberg 2007; entropies in nats) and the adjusted
 * Rand index (Hubert & Arabie 1985), plus the contingency table they are built on.
 * @module
 */

/** Labels of a set of items: integers or names, one per item. */
export type Labels = ArrayLike<number> | readonly string[];

/** Counts of items per (true class, predicted cluster). */
export interface ContingencyTable {
  /** Distinct true labels, sorted (numbers ascending, names by code unit). */
  classes: (number | string)[];
  /** Distinct predicted labels, sorted likewise. */
  clusters: (number | string)[];
  /** `counts[c][k]`: items of class `classes[c]` in cluster `clusters[k]`. */
  counts: number[][];
  /** Number of items. */
  n: number;
}

/** Homogeneity, completeness and their weighted harmonic mean. */
export interface VMeasureScores {
  /** 1 when every cluster holds items of one class only: 1 - H(C|K) / H(C). */
  homogeneity: number;
  /** 1 when every class lies in one cluster only: 1 - H(K|C) / H(K). */
  completeness: number;
  /** (1 + beta) h c / (beta h + c). */
  vMeasure: number;
}

function labelList(labels: Labels, name: string): (number | string)[] {
  const list = Array.from(labels as ArrayLike<number | string>);
  list.forEach((label, i) => {
    if (typeof label === "number" ? !Number.isFinite(label) : typeof label !== "string") {
      throw new TypeError(`${name}[${i}] must be a finite number or a string, got ${label}`);
    }
  });
  return list;
}

function compareLabels(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  return typeof a === "number" ? -1 : 1;
}

/**
 * The contingency table of two labelings of the same items.
 *
 * @example
 * ```ts
 * import { contingencyMatrix } from "./v_measure.ts";
 * const table = contingencyMatrix(["a", "a", "b"], [1, 0, 0]);
 * // classes ["a", "b"], clusters [0, 1], counts [[1, 1], [1, 0]]
 * ```
 */
export function contingencyMatrix(labelsTrue: Labels, labelsPred: Labels): ContingencyTable {
  const truth = labelList(labelsTrue, "labelsTrue");
  const pred = labelList(labelsPred, "labelsPred");
  if (truth.length !== pred.length) {
    throw new RangeError(
      `labelsTrue has ${truth.length} items but labelsPred has ${pred.length}; ` +
        "both must label the same items",
    );
  }
  const classes = [...new Set(truth)].sort(compareLabels);
  const clusters = [...new Set(pred)].sort(compareLabels);
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const clusterIndex = new Map(clusters.map((c, i) => [c, i]));
  const counts = classes.map(() => new Array<number>(clusters.length).fill(0));
  truth.forEach((c, i) => counts[classIndex.get(c)!][clusterIndex.get(pred[i])!]++);
  return { classes, clusters, counts, n: truth.length };
}

/** Entropy in nats of a distribution given by counts; 0 for a single non-empty bin. */
function entropyOfCounts(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let h = 0;
  for (const count of counts) {
    if (count > 0) h -= (count / total) * (Math.log(count) - Math.log(total));
  }
  return h;
}

/**
 * H(A|B) in nats from a table whose rows index A and columns B, as
 * -sum n_ab / n (ln n_ab - ln n_b). Exactly 0 when each column has one non-empty row, so a
 * perfect clustering scores exactly 1 (via MI / H it would be 1 give or take rounding).
 */
function conditionalEntropy(counts: readonly (readonly number[])[], n: number): number {
  const columns = counts.length === 0 ? 0 : counts[0].length;
  let h = 0;
  for (let b = 0; b < columns; b++) {
    let columnTotal = 0;
    for (const row of counts) columnTotal += row[b];
    for (const row of counts) {
      if (row[b] > 0) h -= (row[b] / n) * (Math.log(row[b]) - Math.log(columnTotal));
    }
  }
  return h;
}

function transpose(counts: readonly (readonly number[])[]): number[][] {
  return counts.length === 0 ? [] : counts[0].map((_, k) => counts.map((row) => row[k]));
}

/** 1 - H(X|Y) / H(X), or 1 when H(X) = 0; clamped to [0, 1] against rounding. */
function informationShare(conditional: number, entropy: number): number {
  return entropy > 0 ? Math.min(1, Math.max(0, 1 - conditional / entropy)) : 1;
}

/**
 * Homogeneity, completeness and V-measure of a clustering against the true classes, as
 * scikit-learn's `homogeneity_completeness_v_measure`: a single class gives homogeneity 1, a
 * single cluster gives completeness 1, no items gives 1, 1, 1. The scores do not depend on how
 * clusters are numbered.
 *
 * @example
 * ```ts
 * import { vMeasure } from "./v_measure.ts";
 * vMeasure([0, 0, 1, 1], [5, 5, 2, 2]).vMeasure; // 1 (a renaming of the classes)
 * vMeasure([0, 0, 1, 1], [0, 1, 0, 1]).vMeasure; // 0 (independent of the classes)
 * ```
 */
export function vMeasure(labelsTrue: Labels, labelsPred: Labels, beta = 1): VMeasureScores {
  if (!(beta >= 0) || !Number.isFinite(beta)) {
    throw new RangeError(`vMeasure: beta must be a finite number >= 0, got ${beta}`);
  }
  const table = contingencyMatrix(labelsTrue, labelsPred);
  if (table.n === 0) return { homogeneity: 1, completeness: 1, vMeasure: 1 };
  const classEntropy = entropyOfCounts(table.counts.map((row) => row.reduce((a, b) => a + b, 0)));
  const clusterEntropy = entropyOfCounts(
    table.clusters.map((_, k) => table.counts.reduce((s, row) => s + row[k], 0)),
  );
  // 1 - H(C|K) / H(C) = I(C;K) / H(C): scikit-learn's definition, computed from the
  // conditional entropy so that pure clusters give exactly 1.
  const homogeneity = informationShare(conditionalEntropy(table.counts, table.n), classEntropy);
  const completeness = informationShare(
    conditionalEntropy(transpose(table.counts), table.n),
    clusterEntropy,
  );
  const v = homogeneity + completeness === 0
    ? 0
    : ((1 + beta) * homogeneity * completeness) / (beta * homogeneity + completeness);
  return { homogeneity, completeness, vMeasure: v };
}

/**
 * The adjusted Rand index, as scikit-learn's `adjusted_rand_score`: 1 for identical partitions
 * (whatever the numbering), about 0 for independent ones, negative below chance.
 *
 * @example
 * ```ts
 * import { adjustedRandIndex } from "./v_measure.ts";
 * adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]); // 1
 * ```
 */
export function adjustedRandIndex(labelsTrue: Labels, labelsPred: Labels): number {
  const { counts, n } = contingencyMatrix(labelsTrue, labelsPred);
  // Ordered pairs of distinct items: together in both, in the truth only, in the prediction only.
  const rows = counts.map((row) => row.reduce((a, b) => a + b, 0));
  const cols = counts.length === 0
    ? []
    : counts[0].map((_, k) => counts.reduce((s, row) => s + row[k], 0));
  const sumSquares = counts.flat().reduce((s, v) => s + v * v, 0);
  const bothTogether = sumSquares - n;
  const predOnly = cols.reduce((s, v) => s + v * v, 0) - sumSquares;
  const trueOnly = rows.reduce((s, v) => s + v * v, 0) - sumSquares;
  const neither = n * n - predOnly - trueOnly - sumSquares;
  if (predOnly === 0 && trueOnly === 0) return 1;
  return (2 * (bothTogether * neither - trueOnly * predOnly)) /
    ((bothTogether + trueOnly) * (trueOnly + neither) +
      (bothTogether + predOnly) * (predOnly + neither));
}
