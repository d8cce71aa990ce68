/**
 * Clustering for CCL without class names: k-means (seeded k-means++, restarts, deterministic
 * empty-cluster handling), pooled backbone features, pseudo-class labels in the format the
 * trainer reads, and the scores that say how well clusters recover classes (V-measure,
 * homogeneity, completeness, adjusted Rand index).
 *
 * @example
 * ```ts
 * import { kmeans, vMeasure } from "./mod.ts";
 * const points = [[0, 0], [0, 1], [9, 9], [9, 8]].map((p) => Float32Array.from(p));
 * const { assignments } = kmeans(points, 2, { seed: 0 });
 * vMeasure(["a", "a", "b", "b"], assignments).vMeasure; // 1
 * ```
 * @module
 */

export { kmeans, packPoints } from "./kmeans.ts";
export type { KMeansInit, KMeansOptions, KMeansResult, PointsInput } from "./kmeans.ts";
export { adjustedRandIndex, contingencyMatrix, vMeasure } from "./v_measure.ts";
export { silhouetteScore } from "./silhouette.ts";
export type { ContingencyTable, Labels, VMeasureScores } from "./v_measure.ts";
export { pooledFeatureDimension, pooledFeatures } from "./pooled_features.ts";
export type { PooledFeatureOptions, PooledStages } from "./pooled_features.ts";
export {
  canonicalClusterIds,
  clusterRecords,
  formatPseudoLabelReport,
  makePseudoLabels,
  reportPathFor,
  resolvePseudoLabelDataset,
  syntheticDatasetDir,
  writePseudoLabels,
} from "./pseudo_labels.ts";
export type {
  ClusterRecordsOptions,
  PseudoLabelOptions,
  PseudoLabelReport,
  PseudoLabelResult,
} from "./pseudo_labels.ts";
