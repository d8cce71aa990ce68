/**
 * How well a clustering recovers the classes: homogeneity, completeness, V-measure, NMI, ARI,
 * purity, the Hungarian cluster-to-class mapping and the class x cluster table.
 * @module
 */
import { adjustedRandIndex, contingencyMatrix, vMeasure } from "../clustering/v_measure.ts";
import { matchClustersToClasses } from "./hungarian.ts";

/** Scores of a clustering against the true classes. */
export interface ClusterScores {
  homogeneity: number;
  completeness: number;
  vMeasure: number;
  /** Normalised mutual information, arithmetic mean of the entropies (scikit-learn's default). */
  nmi: number;
  /** Adjusted Rand index. */
  ari: number;
  /** Share of items in their cluster's majority class. */
  purity: number;
  /** Share of items whose cluster maps to their class under the Hungarian mapping. */
  hungarianAccuracy: number;
  /** Class names (sorted) — the rows of `confusion`. */
  classes: string[];
  /** `confusion[c][k]`: items of class `classes[c]` in cluster `k` (clusters 0..k-1). */
  confusion: number[][];
  /** The class each cluster maps to (Hungarian), by name; null if unmatched. */
  clusterToClass: (string | null)[];
}

function entropy(counts: readonly number[], n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/**
 * Normalised mutual information MI / ((H(C) + H(K)) / 2); 1 when both partitions are trivial.
 *
 * @example
 * ```ts
 * import { normalizedMutualInfo } from "./cluster_scores.ts";
 * normalizedMutualInfo([[2, 0], [0, 2]]); // 1
 * ```
 */
export function normalizedMutualInfo(counts: readonly (readonly number[])[]): number {
  const n = counts.flat().reduce((a, b) => a + b, 0);
  if (n === 0) return 1;
  const rows = counts.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = counts[0].map((_, k) => counts.reduce((s, r) => s + r[k], 0));
  const hc = entropy(rows, n);
  const hk = entropy(cols, n);
  if (hc === 0 && hk === 0) return 1;
  let mi = 0;
  counts.forEach((row, c) =>
    row.forEach((v, k) => {
      if (v > 0) mi += (v / n) * Math.log((v * n) / (rows[c] * cols[k]));
    })
  );
  const mean = (hc + hk) / 2;
  return mean > 0 ? Math.min(1, Math.max(0, mi / mean)) : 0;
}

/**
 * Share of items that belong to their cluster's majority class.
 *
 * @example
 * ```ts
 * import { purity } from "./cluster_scores.ts";
 * purity([[3, 1], [0, 2]]); // (3 + 2) / 6
 * ```
 */
export function purity(counts: readonly (readonly number[])[]): number {
  const n = counts.flat().reduce((a, b) => a + b, 0);
  if (n === 0) return 1;
  const columns = counts.length === 0 ? 0 : counts[0].length;
  let majority = 0;
  for (let k = 0; k < columns; k++) majority += Math.max(...counts.map((row) => row[k]));
  return majority / n;
}

/**
 * Every score of `clusters` (cluster ids 0..k-1) against `classNames`, one per item.
 *
 * @example
 * ```ts
 * import { clusterScores } from "./cluster_scores.ts";
 * const s = clusterScores(["a", "a", "b", "b"], [1, 1, 0, 0], 2);
 * // s.vMeasure 1, s.clusterToClass ["b", "a"]
 * ```
 */
export function clusterScores(
  classNames: readonly string[],
  clusters: ArrayLike<number>,
  k: number,
): ClusterScores {
  if (classNames.length !== clusters.length) {
    throw new RangeError(
      `clusterScores: ${classNames.length} class names but ${clusters.length} cluster ids`,
    );
  }
  for (let i = 0; i < clusters.length; i++) {
    const id = clusters[i];
    if (!Number.isInteger(id) || id < 0 || id >= k) {
      throw new RangeError(`clusterScores: cluster id ${id} of item ${i} is not in 0..${k - 1}`);
    }
  }
  const table = contingencyMatrix(classNames, clusters);
  const classes = table.classes as string[];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const confusion = classes.map(() => new Array<number>(k).fill(0));
  classNames.forEach((name, i) => confusion[classIndex.get(name)!][clusters[i]]++);
  const { clusterToClass, matched } = matchClustersToClasses(confusion);
  const n = classNames.length;
  return {
    ...vMeasure(classNames, clusters),
    nmi: normalizedMutualInfo(confusion),
    ari: adjustedRandIndex(classNames, clusters),
    purity: purity(confusion),
    hungarianAccuracy: n === 0 ? 1 : matched / n,
    classes,
    confusion,
    clusterToClass: [...clusterToClass].map((c) => (c >= 0 ? classes[c] : null)),
  };
}
