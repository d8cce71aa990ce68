/**
 * How separable a dataset's classes are before any training: k-means (k = classes) on a
 * frozen backbone's pooled features of the training normals, scored against the true classes
 * (V-measure, homogeneity, completeness, adjusted Rand index). This is the number the
 * confusability knob is tuned by: 1 means the backbone alone tells every class apart.
 *
 * Also the nearest class of each class *as the backbone sees it*: the class whose feature
 * centroid is closest (cosine distance) to this class's centroid, to check the confusable
 * family's design-distance definition of "nearest" against a network.
 *
 * Not re-exported from `mod.ts`: it loads backbones, which the generator does not need.
 * @module
 */
import { loadBackbone } from "../../backbones/registry.ts";
import { kmeans } from "../../clustering/kmeans.ts";
import { pooledFeatures } from "../../clustering/pooled_features.ts";
import { canonicalClusterIds } from "../../clustering/pseudo_labels.ts";
import { adjustedRandIndex, vMeasure } from "../../clustering/v_measure.ts";
import type { SampleRecord } from "../types.ts";

/** Options of {@linkcode measureSeparability}. */
export interface SeparabilityOptions {
  /** Backbone spec (default `small_resnet`, the shipped pretrained weights). */
  backbone?: string;
  /** Side the images are resized to (default 64). */
  size?: number;
  /** Seed of k-means (default 0). */
  seed?: number;
  /** k-means restarts (default 10, as pseudo-labels use). */
  restarts?: number;
  /** Called during feature extraction with images done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode measureSeparability} found. */
export interface SeparabilityReport {
  backbone: string;
  /** Pooled last-stage features, L2-normalised. */
  features: string;
  images: number;
  /** Number of classes = k. */
  k: number;
  seed: number;
  imageSize: number;
  vMeasure: number;
  homogeneity: number;
  completeness: number;
  adjustedRandIndex: number;
  /** Class names, sorted: the columns of `contingency`. */
  classes: string[];
  /** `contingency[cluster][class]`: images of each class in each cluster. */
  contingency: number[][];
  /** For each class, the class whose feature centroid is nearest (cosine distance). */
  nearestByFeatures: Record<string, string>;
  seconds: number;
}

function centroidOf(features: readonly Float32Array[]): Float64Array {
  const c = new Float64Array(features[0].length);
  for (const f of features) for (let i = 0; i < f.length; i++) c[i] += f[i];
  const norm = Math.hypot(...c) || 1;
  return c.map((v) => v / norm);
}

function cosineDistance(a: Float64Array, b: Float64Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return 1 - dot;
}

/**
 * Clusters the records' pooled backbone features with k-means (k = number of classes among
 * them) and scores the clusters against the classes. Uses whichever TF.js backend is active.
 *
 * @example
 * ```ts ignore
 * import { measureSeparability } from "./measure.ts";
 * const train = dataset.records.filter((r) => r.split === "train");
 * const report = await measureSeparability(train, { size: 64 });
 * console.log(report.vMeasure);
 * ```
 */
export async function measureSeparability(
  records: readonly SampleRecord[],
  options: SeparabilityOptions = {},
): Promise<SeparabilityReport> {
  const classes = [...new Set(records.map((r) => r.className))].sort();
  if (classes.length < 2) {
    throw new RangeError(
      `measureSeparability: needs images of at least 2 classes, got ${classes.length}`,
    );
  }
  const started = performance.now();
  const spec = options.backbone ?? "small_resnet";
  const seed = options.seed ?? 0;
  const size = options.size ?? 64;
  const backbone = await loadBackbone(spec, { seed });
  let features: Float32Array[];
  try {
    features = await pooledFeatures(backbone, records, {
      size,
      stages: "last",
      normalize: true,
      onProgress: options.onProgress,
    });
  } finally {
    backbone.dispose();
  }
  const result = kmeans(features, classes.length, { seed, restarts: options.restarts ?? 10 });
  const ids = canonicalClusterIds(result.assignments);
  const truth = records.map((r) => r.className);
  const scores = vMeasure(truth, ids);
  const centroids = new Map(
    classes.map((name) => [name, centroidOf(features.filter((_, i) => truth[i] === name))]),
  );
  const contingency = Array.from({ length: classes.length }, () => classes.map(() => 0));
  truth.forEach((name, i) => contingency[ids[i]][classes.indexOf(name)]++);
  const nearestByFeatures: Record<string, string> = {};
  for (const name of classes) {
    let best = "";
    let bestDistance = Infinity;
    for (const other of classes) {
      if (other === name) continue;
      const d = cosineDistance(centroids.get(name)!, centroids.get(other)!);
      if (d < bestDistance) [best, bestDistance] = [other, d];
    }
    nearestByFeatures[name] = best;
  }
  return {
    backbone: spec,
    features: "pooled last stage, L2-normalised",
    images: records.length,
    k: classes.length,
    seed,
    imageSize: size,
    vMeasure: scores.vMeasure,
    homogeneity: scores.homogeneity,
    completeness: scores.completeness,
    adjustedRandIndex: adjustedRandIndex(truth, ids),
    classes,
    contingency,
    nearestByFeatures,
    seconds: (performance.now() - started) / 1000,
  };
}
