/**
 * Pseudo-class labels for CCL without class names: k-means over pooled pretrained features of
 * the training images, with the cluster ids standing in for class ids (the CCL code uses
 * k = 15 on MVTec AD's 15 classes). When true classes are known, a report says how well the
 * clusters recover them (V-measure, homogeneity, completeness, adjusted Rand index, and the
 * cluster x class contingency table).
 *
 * The file written is exactly the pseudo-label format of `lib/ccl/labels.ts` (one JSON object,
 * image path -> cluster id, nothing else: that parser takes every key for an image); the
 * report goes to a sidecar `<name>.report.json`.
 * @module
 */
import { join, relative } from "@std/path";
import { loadBackbone } from "../backbones/registry.ts";
import type { Backbone } from "../backbones/types.ts";
import { type DatasetFingerprint, datasetFingerprint } from "../data/fingerprint.ts";
import { recordedPath } from "../util/repo_path.ts";
import { readDataset } from "../data/read_dataset.ts";
import { ensureSynthDataset } from "../data/synth/mod.ts";
import type { Dataset, SampleRecord, Split } from "../data/types.ts";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import { kmeans } from "./kmeans.ts";
import { pooledFeatures, type PooledStages } from "./pooled_features.ts";
import { adjustedRandIndex, vMeasure } from "./v_measure.ts";

/** How the records are clustered. */
export interface ClusterRecordsOptions {
  /**
   * Dataset root: label keys are written relative to it, so the file works in any checkout
   * (default: keys are the records' paths as they are).
   */
  root?: string;
  /** Number of clusters (default: the number of classes among the records). */
  k?: number;
  /** Seed of k-means (default 0). */
  seed?: number;
  /** Side the images are resized to (default 64). */
  size?: number;
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** Pooled features of the last stage (default) or of all stages. */
  stages?: PooledStages;
  /** L2-normalise the feature vectors (default true). */
  normalize?: boolean;
  /** k-means restarts (default 10). */
  restarts?: number;
  /** Called during feature extraction with images done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@linkcode makePseudoLabels}. */
export interface PseudoLabelOptions extends ClusterRecordsOptions {
  /** Backbone spec (default `small_resnet`, the shipped pretrained weights). */
  backbone?: string;
  /**
   * Dataset folder in any layout `readDataset` knows. Default: the embedded synthetic dataset,
   * generated at `size` with seed 0 into `syntheticDir` on first use.
   */
  data?: string;
  /** Cache folder of the synthetic dataset (default `.cache/synth-<size>-seed0`). */
  syntheticDir?: string;
  /** Only these classes of the dataset. */
  classes?: readonly string[];
  /** Which split is clustered (default "train", the images CCL trains on). */
  split?: Split;
}

/** What the clustering found and how well it recovers the true classes. */
export interface PseudoLabelReport {
  dataset: string;
  /** Dataset root, relative to the repository when inside it. */
  root: string;
  /** Classes, file count and file-list hash of the dataset (see `lib/data/fingerprint.ts`). */
  datasetFingerprint?: DatasetFingerprint;
  split: Split;
  backbone: string;
  stages: PooledStages;
  normalized: boolean;
  featureDimension: number;
  imageSize: number;
  images: number;
  k: number;
  seed: number;
  restarts: number;
  /** True class names, sorted: the columns of `contingency`. */
  classes: string[];
  /** Images per cluster id. */
  clusterSizes: number[];
  /** `contingency[cluster][class]`: training images of each class in each cluster. */
  contingency: number[][];
  homogeneity: number;
  completeness: number;
  vMeasure: number;
  adjustedRandIndex: number;
  inertia: number;
  iterations: number;
  converged: boolean;
  seconds: { features: number; kmeans: number };
}

/** Pseudo-labels and their report. */
export interface PseudoLabelResult {
  /** Image path (exactly as the dataset records it) -> cluster id; the pseudo-label file. */
  labels: Record<string, number>;
  report: PseudoLabelReport;
}

/**
 * Renumbers clusters by the order in which they first appear in the records, so that the same
 * partition always gets the same ids (k-means numbering depends on its initialisation) and a
 * good clustering of class-ordered records gives a near-diagonal contingency table.
 */
export function canonicalClusterIds(assignments: ArrayLike<number>): Int32Array {
  const renumber = new Map<number, number>();
  return Int32Array.from(assignments, (cluster) => {
    let id = renumber.get(cluster);
    if (id === undefined) renumber.set(cluster, id = renumber.size);
    return id;
  });
}

/**
 * Clusters the records' pooled backbone features with k-means; the dataset-independent core
 * of {@linkcode makePseudoLabels}.
 *
 * @example
 * ```ts ignore
 * import { loadBackbone } from "../backbones/registry.ts";
 * import { clusterRecords } from "./pseudo_labels.ts";
 * const backbone = await loadBackbone("small_resnet");
 * const { labels, report } = await clusterRecords(backbone, trainRecords, { k: 7 });
 * ```
 */
export async function clusterRecords(
  backbone: Backbone,
  records: readonly SampleRecord[],
  options: ClusterRecordsOptions = {},
): Promise<PseudoLabelResult> {
  if (records.length === 0) throw new RangeError("clusterRecords: no records to cluster");
  const classes = [...new Set(records.map((r) => r.className))].sort();
  const k = options.k ?? classes.length;
  if (!Number.isInteger(k) || k < 1 || k > records.length) {
    throw new RangeError(
      `clusterRecords: k must be an integer in [1, ${records.length}] (the number of images), got ${k}`,
    );
  }
  const size = options.size ?? 64;
  const stages = options.stages ?? "last";
  const normalized = options.normalize ?? true;
  const seed = options.seed ?? 0;
  const restarts = options.restarts ?? 10;

  const featuresStart = performance.now();
  const features = await pooledFeatures(backbone, records, {
    size,
    batchSize: options.batchSize,
    stages,
    normalize: normalized,
    onProgress: options.onProgress,
  });
  const kmeansStart = performance.now();
  const result = kmeans(features, k, { seed, restarts });
  const kmeansEnd = performance.now();

  const ids = canonicalClusterIds(result.assignments);
  const labels: Record<string, number> = {};
  const key = (path: string) => options.root ? relative(options.root, path) : path;
  records.forEach((record, i) => labels[key(record.imagePath)] = ids[i]);
  const classOf = new Map(classes.map((name, c) => [name, c]));
  const contingency = Array.from({ length: k }, () => new Array<number>(classes.length).fill(0));
  records.forEach((record, i) => contingency[ids[i]][classOf.get(record.className)!]++);
  const truth = records.map((r) => r.className);
  return {
    labels,
    report: {
      dataset: "",
      root: "",
      split: records[0].split,
      backbone: backbone.name,
      stages,
      normalized,
      featureDimension: features[0].length,
      imageSize: size,
      images: records.length,
      k,
      seed,
      restarts,
      classes,
      clusterSizes: contingency.map((row) => row.reduce((a, b) => a + b, 0)),
      contingency,
      ...vMeasure(truth, ids),
      adjustedRandIndex: adjustedRandIndex(truth, ids),
      inertia: result.inertia,
      iterations: result.iterations,
      converged: result.converged,
      seconds: {
        features: (kmeansStart - featuresStart) / 1000,
        kmeans: (kmeansEnd - kmeansStart) / 1000,
      },
    },
  };
}

/** The default cache folder of the synthetic dataset at `size` (as experiment runs use it). */
export function syntheticDatasetDir(size: number): string {
  return join(".cache", `synth-${size}-seed0`);
}

/** Reads the dataset the options name, generating the synthetic one if needed. */
export async function resolvePseudoLabelDataset(options: PseudoLabelOptions): Promise<Dataset> {
  const read = options.classes ? { classes: options.classes } : {};
  if (options.data !== undefined) return await readDataset(options.data, read);
  const size = options.size ?? 64;
  const dir = options.syntheticDir ?? syntheticDatasetDir(size);
  await ensureSynthDataset(dir, { size, seed: 0 });
  // Read back from disk, as training runs do, so that the image paths match theirs exactly.
  return { ...(await readDataset(dir, read)), name: "synthetic" };
}

/**
 * Pseudo-labels for a dataset's training images: loads the backbone and the dataset, pools
 * features, runs k-means (k defaults to the number of classes) and scores the clusters against
 * the true classes. Uses whichever TF.js backend is active.
 *
 * @example
 * ```ts ignore
 * import { makePseudoLabels, writePseudoLabels } from "./pseudo_labels.ts";
 * const result = await makePseudoLabels({ backbone: "small_resnet", size: 64, seed: 0 });
 * console.log(result.report.vMeasure);
 * await writePseudoLabels("results/pseudo_labels/synthetic-k7.json", result);
 * ```
 */
export async function makePseudoLabels(
  options: PseudoLabelOptions = {},
): Promise<PseudoLabelResult> {
  const split = options.split ?? "train";
  const dataset = await resolvePseudoLabelDataset(options);
  const records = dataset.records.filter((r) => r.split === split);
  if (records.length === 0) {
    throw new RangeError(`${dataset.root}: no ${split} images to cluster`);
  }
  const backbone = await loadBackbone(options.backbone ?? "small_resnet", { seed: options.seed });
  try {
    const result = await clusterRecords(backbone, records, { root: dataset.root, ...options });
    result.report.dataset = dataset.name;
    result.report.root = recordedPath(dataset.root);
    result.report.datasetFingerprint = await datasetFingerprint(dataset);
    result.report.split = split;
    return result;
  } finally {
    backbone.dispose();
  }
}

/** The report file that goes with a pseudo-label file: `x.json` -> `x.report.json`. */
export function reportPathFor(labelsPath: string): string {
  return labelsPath.endsWith(".json")
    ? `${labelsPath.slice(0, -".json".length)}.report.json`
    : `${labelsPath}.report.json`;
}

/**
 * Writes the pseudo-label file (the plain mapping `readPseudoLabels` reads) and its report
 * beside it, each atomically.
 */
export async function writePseudoLabels(
  labelsPath: string,
  result: PseudoLabelResult,
): Promise<{ labelsPath: string; reportPath: string }> {
  const reportPath = reportPathFor(labelsPath);
  await writeJsonAtomic(labelsPath, result.labels);
  await writeJsonAtomic(reportPath, { ...result.report, labelsFile: labelsPath });
  return { labelsPath, reportPath };
}

/**
 * The report as text: the scores, then the contingency table (one row per cluster, one column
 * per class, with each cluster's size and majority class).
 */
export function formatPseudoLabelReport(report: PseudoLabelReport): string {
  const lines = [
    `pseudo-labels: ${report.dataset} (${report.split}, ${report.images} images, ` +
    `${report.classes.length} classes), backbone ${report.backbone} ` +
    `(${report.stages} stage${report.stages === "all" ? "s" : ""}, ` +
    `${report.featureDimension}-d${report.normalized ? ", L2-normalised" : ""}), ` +
    `k = ${report.k}, seed ${report.seed}`,
    `V-measure ${report.vMeasure.toFixed(4)}  homogeneity ${report.homogeneity.toFixed(4)}  ` +
    `completeness ${report.completeness.toFixed(4)}  ARI ${report.adjustedRandIndex.toFixed(4)}`,
    `k-means: inertia ${report.inertia.toFixed(4)}, ${report.iterations} iterations` +
    `${report.converged ? "" : " (not converged)"}, best of ${report.restarts} restarts`,
    "",
  ];
  const header = ["cluster", ...report.classes, "size", "majority"];
  const rows = report.contingency.map((row, cluster) => {
    const size = report.clusterSizes[cluster];
    const top = row.indexOf(Math.max(...row));
    const share = size > 0 ? ` ${(100 * row[top] / size).toFixed(0)}%` : "";
    return [String(cluster), ...row.map(String), String(size), `${report.classes[top]}${share}`];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const format = (cells: string[]) =>
    cells.map((cell, c) => c === cells.length - 1 ? cell : cell.padStart(widths[c])).join("  ");
  lines.push(format(header), ...rows.map(format));
  return lines.join("\n");
}
