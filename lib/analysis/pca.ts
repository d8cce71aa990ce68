/**
 * Exact principal component analysis: the eigen-decomposition (cyclic Jacobi, float64) of the
 * covariance matrix, or of the Gram matrix when there are fewer points than dimensions.
 * @module
 */

/** A PCA projection. */
export interface PcaResult {
  /** `n` rows of `components` coordinates. */
  coordinates: number[][];
  /** Variance along each component (eigenvalue of the covariance, divisor n - 1). */
  variance: number[];
  /** Share of the total variance along each component. */
  explained: number[];
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix (row-major, `d` x `d`) by cyclic Jacobi
 * rotations; sorted by decreasing eigenvalue; `vectors[i]` is the i-th unit eigenvector.
 */
export function symmetricEigen(
  matrix: Float64Array,
  d: number,
): { values: number[]; vectors: Float64Array[] } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < d; p++) {
      diag += a[p * d + p] ** 2;
      for (let q = p + 1; q < d; q++) off += a[p * d + q] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * d + q] - a[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const akp = a[k * d + p];
          const akq = a[k * d + q];
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k];
          const aqk = a[q * d + k];
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p];
          const vkq = v[k * d + q];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: d }, (_, i) => i).sort((i, j) => a[j * d + j] - a[i * d + i]);
  return {
    values: order.map((i) => a[i * d + i]),
    vectors: order.map((i) => Float64Array.from({ length: d }, (_, k) => v[k * d + i])),
  };
}

/**
 * Projects points onto their first `components` principal components. Each component's sign
 * is fixed so that its largest-magnitude coordinate over the points is positive, so the result
 * does not depend on the solver's sign choice.
 *
 * @example
 * ```ts
 * import { pca } from "./pca.ts";
 * // points on the line y = x: one component carries all the variance
 * const { explained } = pca([[0, 0], [1, 1], [2, 2], [3, 3]].map((p) => Float32Array.from(p)), 2);
 * // explained ≈ [1, 0]
 * ```
 */
export function pca(
  points: readonly ArrayLike<number>[],
  components = 2,
): PcaResult {
  const n = points.length;
  if (n < 2) throw new RangeError(`pca needs at least 2 points, got ${n}`);
  const d = points[0].length;
  points.forEach((p, i) => {
    if (p.length !== d) throw new RangeError(`pca: point ${i} has ${p.length} values, not ${d}`);
  });
  if (!Number.isInteger(components) || components < 1 || components > Math.min(n, d)) {
    throw new RangeError(`pca: components must be in 1..${Math.min(n, d)}, got ${components}`);
  }
  const mean = new Float64Array(d);
  for (const p of points) for (let j = 0; j < d; j++) mean[j] += p[j] / n;
  const centred = points.map((p) => Float64Array.from({ length: d }, (_, j) => p[j] - mean[j]));
  let total = 0;
  for (const row of centred) for (const x of row) total += x * x;
  total /= n - 1;
  let values: number[];
  let coordinates: number[][];
  if (d <= n) {
    const cov = new Float64Array(d * d);
    for (const row of centred) {
      for (let i = 0; i < d; i++) {
        if (row[i] === 0) continue;
        for (let j = i; j < d; j++) cov[i * d + j] += row[i] * row[j];
      }
    }
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) cov[j * d + i] = cov[i * d + j] /= n - 1;
    }
    const eigen = symmetricEigen(cov, d);
    values = eigen.values.slice(0, components);
    coordinates = centred.map((row) =>
      eigen.vectors.slice(0, components).map((vec) => row.reduce((s, x, j) => s + x * vec[j], 0))
    );
  } else {
    // Gram matrix X X^T shares the non-zero eigenvalues; scores are u * sqrt(lambda).
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += centred[i][k] * centred[j][k];
        gram[i * n + j] = gram[j * n + i] = s;
      }
    }
    const eigen = symmetricEigen(gram, n);
    values = eigen.values.slice(0, components).map((l) => Math.max(0, l) / (n - 1));
    coordinates = centred.map((_, i) =>
      eigen.vectors.slice(0, components).map((u, c) =>
        u[i] * Math.sqrt(Math.max(0, eigen.values[c]))
      )
    );
  }
  for (let c = 0; c < components; c++) {
    let pivot = 0;
    for (const row of coordinates) if (Math.abs(row[c]) > Math.abs(pivot)) pivot = row[c];
    if (pivot < 0) { for (const row of coordinates) row[c] = -row[c]; }
  }
  return {
    coordinates,
    variance: values,
    explained: values.map((v) => (total > 0 ? v / total : 0)),
  };
}
