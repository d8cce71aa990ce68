/**
 * The silhouette score of a clustering (Rousseeuw 1987), for choosing k: for each point, a is
 * its mean distance to the other points of its cluster and b its smallest mean distance to the
 * points of another cluster; its silhouette is (b - a) / max(a, b) (0 for a point alone in its
 * cluster). The score is the mean over points, in [-1, 1]; higher means better separated.
 * Exact, O(n² d): fine for a few thousand images.
 * @module
 */

/**
 * Mean silhouette of `assignments` over `points` (Euclidean distance). Needs at least two
 * clusters and fewer clusters than points.
 *
 * @example
 * ```ts
 * import { silhouetteScore } from "./silhouette.ts";
 * const points = [[0, 0], [0, 1], [10, 0], [10, 1]].map((p) => Float32Array.from(p));
 * const s = silhouetteScore(points, [0, 0, 1, 1]);
 * if (!(s > 0.9)) throw new Error(`well separated clusters score near 1, got ${s}`);
 * ```
 */
export function silhouetteScore(
  points: readonly Float32Array[],
  assignments: ArrayLike<number>,
): number {
  const n = points.length;
  if (assignments.length !== n) {
    throw new RangeError(`silhouetteScore: ${n} points but ${assignments.length} assignments`);
  }
  const clusters = [...new Set(Array.from(assignments))];
  if (clusters.length < 2 || clusters.length >= n) {
    throw new RangeError(
      `silhouetteScore: needs 2 <= clusters < points, got ${clusters.length} clusters of ${n} points`,
    );
  }
  const index = new Map(clusters.map((c, i) => [c, i]));
  const label = Int32Array.from(assignments, (c) => index.get(c)!);
  const sizes = new Int32Array(clusters.length);
  for (const c of label) sizes[c]++;
  const sums = new Float64Array(clusters.length);
  let total = 0;
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    const p = points[i];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const q = points[j];
      let d2 = 0;
      for (let k = 0; k < p.length; k++) {
        const diff = p[k] - q[k];
        d2 += diff * diff;
      }
      sums[label[j]] += Math.sqrt(d2);
    }
    const own = label[i];
    if (sizes[own] === 1) continue; // silhouette 0 by definition
    const a = sums[own] / (sizes[own] - 1);
    let b = Infinity;
    for (let c = 0; c < clusters.length; c++) {
      if (c !== own) b = Math.min(b, sums[c] / sizes[c]);
    }
    total += (b - a) / Math.max(a, b);
  }
  return total / n;
}
