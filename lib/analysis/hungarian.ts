/**
 * The Hungarian method (Kuhn-Munkres) for the assignment problem, O(n^3), and its use to map
 * clusters to classes.
 * @module
 */

/** An optimal assignment: `rowToColumn[r]` is the column of row `r` (-1 if unassigned). */
export interface Assignment {
  rowToColumn: Int32Array;
  /** Sum of the costs of the assigned cells. */
  cost: number;
}

function checkMatrix(matrix: readonly (readonly number[])[], name: string): number {
  const columns = matrix.length === 0 ? 0 : matrix[0].length;
  matrix.forEach((row, r) => {
    if (row.length !== columns) {
      throw new RangeError(`${name}: row ${r} has ${row.length} columns, row 0 has ${columns}`);
    }
    row.forEach((v, c) => {
      if (!Number.isFinite(v)) throw new RangeError(`${name}[${r}][${c}] is not finite: ${v}`);
    });
  });
  return columns;
}

/**
 * Minimum-cost assignment of rows to columns (each column used at most once). A rectangular
 * matrix is fine: with more rows than columns, some rows stay unassigned (-1).
 *
 * @example
 * ```ts
 * import { hungarian } from "./hungarian.ts";
 * const { rowToColumn, cost } = hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
 * // rowToColumn [1, 0, 2], cost 5
 * ```
 */
export function hungarian(cost: readonly (readonly number[])[]): Assignment {
  const columns = checkMatrix(cost, "hungarian");
  const rows = cost.length;
  // The potentials formulation needs rows <= columns: solve the transpose otherwise.
  if (rows > columns) {
    const transposed = hungarian(
      Array.from({ length: columns }, (_, c) => cost.map((row) => row[c])),
    );
    const rowToColumn = new Int32Array(rows).fill(-1);
    transposed.rowToColumn.forEach((r, c) => {
      if (r >= 0) rowToColumn[r] = c;
    });
    return { rowToColumn, cost: transposed.cost };
  }
  // 1-based potentials u (rows), v (columns); p[j] = row matched to column j; way = path.
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(columns + 1);
  const p = new Int32Array(columns + 1);
  const way = new Int32Array(columns + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(columns + 1).fill(Infinity);
    const used = new Uint8Array(columns + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= columns; j++) {
        if (used[j]) continue;
        const reduced = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= columns; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToColumn = new Int32Array(rows).fill(-1);
  let total = 0;
  for (let j = 1; j <= columns; j++) {
    if (p[j] > 0) {
      rowToColumn[p[j] - 1] = j - 1;
      total += cost[p[j] - 1][j - 1];
    }
  }
  return { rowToColumn, cost: total };
}

/**
 * The cluster-to-class mapping that agrees with the most items: `counts[c][k]` is the number of
 * items of class `c` in cluster `k`; returns the class of each cluster (-1 if more clusters than
 * classes left it unmatched) and the number of items the mapping gets right.
 *
 * @example
 * ```ts
 * import { matchClustersToClasses } from "./hungarian.ts";
 * // class 0 sits mostly in cluster 1, class 1 in cluster 0
 * matchClustersToClasses([[1, 5], [4, 0]]).clusterToClass; // Int32Array [1, 0]
 * ```
 */
export function matchClustersToClasses(
  counts: readonly (readonly number[])[],
): { clusterToClass: Int32Array; matched: number } {
  const clusters = checkMatrix(counts, "matchClustersToClasses");
  const byCluster = Array.from({ length: clusters }, (_, k) => counts.map((row) => -row[k]));
  const { rowToColumn, cost } = hungarian(byCluster);
  return { clusterToClass: rowToColumn, matched: -cost };
}
