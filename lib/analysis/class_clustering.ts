/**
 * Inter-class confusion measured as in the paper: k-means (k = number of classes) on a trained
 * model's compact features of normal images, scored against the true classes with the
 * V-measure (1 = the features separate the classes perfectly; the paper reports 0.77 for RD
 * trained jointly on MVTec AD and 1.0 with CCL).
 * @module
 */
import { kmeans } from "../clustering/kmeans.ts";
import { vMeasure } from "../clustering/v_measure.ts";
import type { DecodeCache } from "../data/batches.ts";
import type { SampleRecord } from "../data/types.ts";
import type { Objective } from "../methods/types.ts";
import { compactFeaturesOf } from "./model_features.ts";

/** How well a model's compact features cluster by class. */
export interface ClassClusteringReport {
  images: number;
  classes: number;
  vMeasure: number;
  homogeneity: number;
  completeness: number;
}

/** Options of {@linkcode classClustering}. */
export interface ClassClusteringOptions {
  size: number;
  batchSize: number;
  seed?: number;
  cache?: DecodeCache;
}

/**
 * Clusters the L2-normalised compact features of `records` with k-means (k = their number of
 * classes, seeded, 10 restarts) and scores the clusters against the class names.
 */
export async function classClustering(
  objective: Objective,
  records: readonly SampleRecord[],
  options: ClassClusteringOptions,
): Promise<ClassClusteringReport> {
  const classes = new Set(records.map((r) => r.className));
  if (classes.size < 2) {
    throw new RangeError(
      `class clustering needs images of at least 2 classes, got ${classes.size}`,
    );
  }
  const features = await compactFeaturesOf(objective, records, {
    batchSize: options.batchSize,
    size: options.size,
    cache: options.cache,
  });
  const { assignments } = kmeans(features, classes.size, { seed: options.seed ?? 0, restarts: 10 });
  const score = vMeasure(records.map((r) => r.className), assignments);
  return { images: records.length, classes: classes.size, ...score };
}
