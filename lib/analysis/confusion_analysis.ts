/**
 * The confusion analysis of one trained joint model: k-means on its compact features of the
 * test images (every cluster score, the Hungarian mapping, the class x cluster table), 2-D
 * embeddings (PCA and UMAP), reconstruction confusion (class x class, and for pasted
 * `foreign_class` regions: toward the host or the pasted class), and optionally per-class metric
 * deltas against another run. `analyseRun` writes it all to `<run>/confusion/`.
 * @module
 */
import { join, relative } from "@std/path";
import { kmeans } from "../clustering/kmeans.ts";
import type { DecodeCache } from "../data/batches.ts";
import type { Dataset, SampleRecord } from "../data/types.ts";
import type { UnitModel } from "../experiment/model.ts";
import { METRIC_LABELS, METRIC_NAMES } from "../metrics/metric_names.ts";
import { embeddingChart, heatmapChart, metricDeltaChart } from "../plots/charts.ts";
import { type VegaLiteSpec, writeChart } from "../plots/render.ts";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import { type ClusterScores, clusterScores } from "./cluster_scores.ts";
import { embed2d } from "./embedding.ts";
import { type MetricDeltas, metricDeltas, readRunMetrics } from "./metric_deltas.ts";
import {
  compactFeaturesOf,
  missingReconstructionMessage,
  pooledReconstructions,
  sampleTargetCells,
} from "./model_features.ts";
import { pca } from "./pca.ts";
import {
  type ClassConfusion,
  classPrototypes,
  type ForeignRegion,
  type ForeignRegionReport,
  foreignRegionReport,
  partPrototypes,
  reconstructionConfusion,
} from "./reconstruction_confusion.ts";
import { openTrainedRun, predictOptionsOf, withUnitModel } from "./trained_run.ts";

/** One test image in the embedding. */
export interface EmbeddedImage {
  image: string;
  className: string;
  defect: string;
  cluster: number;
  pca: [number, number];
  umap?: [number, number];
}

/** Reconstruction confusion, or why it could not be measured. */
export type ReconstructionAnalysis =
  | {
    available: true;
    /** Training normals per class behind each prototype. */
    prototypeImages: Record<string, number>;
    /** All test images. */
    all: ClassConfusion;
    /** Normal test images only. */
    normal: ClassConfusion;
    /** Anomalous test images only. */
    anomalous: ClassConfusion;
    /**
     * The encoder's own features of all test images against the same prototypes: the reference.
     * What the reconstruction adds beyond it is the model's confusion; classes the encoder
     * itself cannot tell apart by their mean features are off-diagonal here already.
     */
    encoder: ClassConfusion;
    /** Pasted regions of `foreign_class` anomalies, or why there are none. */
    foreign: ForeignRegionReport | { note: string };
  }
  | { available: false; reason: string };

/** The whole report (`confusion/report.json`). */
export interface ConfusionAnalysis {
  run: string;
  method: string;
  strategy: string;
  ccl: boolean;
  seed: number;
  classes: string[];
  testImages: { total: number; normal: number; anomalous: number };
  /** k-means (k = classes, seeded, 10 restarts) on L2-normalised compact features, all test images. */
  clustering: ClusterScores;
  /** The same on the normal test images only (what `metrics.json` reports as V-measure). */
  clusteringNormal: ClusterScores;
  /** Share of variance of the two PCA axes. */
  pcaExplained: [number, number];
  embedding: EmbeddedImage[];
  reconstruction: ReconstructionAnalysis;
  deltas?: MetricDeltas;
  createdAt: string;
}

/** Options of {@linkcode analyseModel}. */
export interface AnalyseModelOptions {
  size: number;
  batchSize: number;
  seed: number;
  cache?: DecodeCache;
  /** Compute the UMAP embedding too (default true). */
  umap?: boolean;
  /** `foreign_class` source class per image path (from the synthetic manifest). */
  foreignSources?: Map<string, string>;
  log?: (line: string) => void;
}

function clusterRecords(
  features: readonly Float32Array[],
  records: readonly SampleRecord[],
  k: number,
  seed: number,
): { scores: ClusterScores; assignments: Int32Array } {
  const { assignments } = kmeans(features, k, { seed, restarts: 10 });
  return { scores: clusterScores(records.map((r) => r.className), assignments, k), assignments };
}

/** Runs every model-based part of the analysis on one trained model over all classes. */
export async function analyseModel(
  model: UnitModel,
  dataset: Dataset,
  options: AnalyseModelOptions,
): Promise<Omit<ConfusionAnalysis, "run" | "strategy" | "ccl" | "seed" | "createdAt">> {
  const say = options.log ?? (() => {});
  const classes = [...dataset.classes].sort();
  if (classes.length < 2) {
    throw new Error(`${dataset.root}: the confusion analysis needs at least 2 classes`);
  }
  const test = dataset.records.filter((r) => r.split === "test");
  const train = dataset.records.filter((r) => r.split === "train");
  const load = { size: options.size, batchSize: options.batchSize, cache: options.cache };
  say(`compact features of ${test.length} test images`);
  const features = await compactFeaturesOf(model.objective, test, load);
  const k = classes.length;
  const all = clusterRecords(features, test, k, options.seed);
  const normalIdx = test.flatMap((r, i) => (r.label === 0 ? [i] : []));
  const normalClasses = new Set(normalIdx.map((i) => test[i].className));
  if (normalClasses.size < k) {
    const missing = classes.filter((c) => !normalClasses.has(c));
    throw new Error(`${dataset.root}: classes without normal test images: ${missing.join(", ")}`);
  }
  const normal = clusterRecords(
    normalIdx.map((i) => features[i]),
    normalIdx.map((i) => test[i]),
    k,
    options.seed,
  );
  say("embeddings (PCA, UMAP)");
  const projection = pca(features, 2);
  const umap = options.umap === false
    ? undefined
    : embed2d(features, "umap", { seed: options.seed });
  const embedding: EmbeddedImage[] = test.map((r, i) => ({
    image: relative(dataset.root, r.imagePath),
    className: r.className,
    defect: r.defect,
    cluster: all.assignments[i],
    pca: [projection.coordinates[i][0], projection.coordinates[i][1]],
    ...(umap ? { umap: umap[i] } : {}),
  }));
  return {
    method: model.method.name,
    classes,
    testImages: {
      total: test.length,
      normal: normalIdx.length,
      anomalous: test.length - normalIdx.length,
    },
    clustering: all.scores,
    clusteringNormal: normal.scores,
    pcaExplained: [projection.explained[0], projection.explained[1]],
    embedding,
    reconstruction: await analyseReconstruction(model, train, test, classes, load, options, say),
  };
}

async function analyseReconstruction(
  model: UnitModel,
  train: readonly SampleRecord[],
  test: readonly SampleRecord[],
  classes: readonly string[],
  load: { size: number; batchSize: number; cache?: DecodeCache },
  options: AnalyseModelOptions,
  say: (line: string) => void,
): Promise<ReconstructionAnalysis> {
  if (!model.method.reconstructedFeatures) {
    const reason = missingReconstructionMessage(model.method.name);
    say(reason);
    return { available: false, reason };
  }
  const predict = predictOptionsOf(model);
  const normals = train.filter((r) => r.label === 0);
  say(`class prototypes from ${normals.length} training normals`);
  const trainSamples = await sampleTargetCells(model.method, predict, normals, {
    ...load,
    seed: options.seed,
  });
  const normalClasses = normals.map((r) => r.className);
  const prototypes = classPrototypes(normalClasses, trainSamples.pooled);
  for (const c of classes) {
    if (!prototypes.classes.includes(c)) throw new Error(`class "${c}" has no training normals`);
  }
  say(`reconstructions of ${test.length} test images`);
  const testPooled = await pooledReconstructions(model.method, predict, test, {
    ...load,
    masks: true,
  });
  const confusionOf = (keep: (r: SampleRecord) => boolean, encoder = false) => {
    const idx = test.flatMap((r, i) => (keep(r) ? [i] : []));
    return reconstructionConfusion(
      idx.map((i) => test[i].className),
      idx.map((i) => (encoder ? testPooled[i].target : testPooled[i].reconstruction)),
      prototypes,
    );
  };
  let foreign: ForeignRegionReport | { note: string };
  const pasted = test.flatMap((r, i) => (r.defect === "foreign_class" ? [i] : []));
  if (pasted.length === 0) {
    foreign = { note: "no foreign_class anomalies in the test set" };
  } else if (!options.foreignSources) {
    foreign = {
      note: "the pasted class of foreign_class anomalies is unknown (needs the synthetic " +
        "dataset's synth.json)",
    };
  } else {
    const regions: ForeignRegion[] = [];
    for (const i of pasted) {
      const source = options.foreignSources.get(test[i].imagePath);
      const pooled = testPooled[i];
      if (!source || !pooled.reconstructionCells || !pooled.targetCells) continue;
      if (!prototypes.classes.includes(source)) continue;
      regions.push({
        host: test[i].className,
        pasted: source,
        reconstruction: pooled.reconstructionCells,
        target: pooled.targetCells,
      });
    }
    const parts = regions.length > 0
      ? partPrototypes(normalClasses, trainSamples.cells, 8, options.seed)
      : undefined;
    foreign = parts ? foreignRegionReport(regions, parts) : {
      note: "no foreign_class anomaly has a known pasted class among the trained classes",
    };
  }
  return {
    available: true,
    prototypeImages: Object.fromEntries(
      prototypes.classes.map((c) => [c, normals.filter((r) => r.className === c).length]),
    ),
    all: confusionOf(() => true),
    normal: confusionOf((r) => r.label === 0),
    anomalous: confusionOf((r) => r.label === 1),
    encoder: confusionOf(() => true, true),
    foreign,
  };
}

/** `foreign_class` source classes by absolute image path, from `<root>/synth.json` if present. */
export async function readForeignSources(root: string): Promise<Map<string, string> | undefined> {
  let manifest: { samples?: Array<{ image?: string; sourceClass?: string }> };
  try {
    manifest = JSON.parse(await Deno.readTextFile(join(root, "synth.json")));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${join(root, "synth.json")}: cannot read it (${(error as Error).message})`);
  }
  const sources = new Map<string, string>();
  for (const s of manifest.samples ?? []) {
    if (s.image && s.sourceClass) sources.set(join(root, s.image), s.sourceClass);
  }
  return sources;
}

/** The charts of an analysis, by file name (without extension). */
export function confusionCharts(analysis: ConfusionAnalysis): Record<string, VegaLiteSpec> {
  const label = analysis.run.endsWith(`seed${analysis.seed}`)
    ? analysis.run
    : `${analysis.run} (seed ${analysis.seed})`;
  const points = (pick: (e: EmbeddedImage) => [number, number] | undefined) =>
    analysis.embedding.flatMap((e) => {
      const xy = pick(e);
      return xy ? [{ x: xy[0], y: xy[1], className: e.className, defect: e.defect }] : [];
    });
  const [e1, e2] = analysis.pcaExplained.map((v) => `${(100 * v).toFixed(1)}%`);
  const charts: Record<string, VegaLiteSpec> = {
    embedding_pca: embeddingChart(points((e) => e.pca), {
      title: { text: "PCA of compact features, test images", subtitle: label },
      xTitle: `PC 1 (${e1} of variance)`,
      yTitle: `PC 2 (${e2})`,
    }),
  };
  if (analysis.embedding.some((e) => e.umap)) {
    charts.embedding_umap = embeddingChart(points((e) => e.umap), {
      title: { text: "UMAP of compact features, test images", subtitle: label },
      xTitle: "UMAP 1",
      yTitle: "UMAP 2",
    });
  }
  const c = analysis.clustering;
  // Columns in the order of the classes they map to, so agreement lies on the diagonal.
  const rank = (k: number) => {
    const name = c.clusterToClass[k];
    return name === null ? c.classes.length + k : c.classes.indexOf(name);
  };
  const order = c.clusterToClass.map((_, k) => k).sort((a, b) => rank(a) - rank(b));
  charts.cluster_confusion = heatmapChart(
    c.classes,
    order.map((k) => `k${k} → ${c.clusterToClass[k] ?? "-"}`),
    c.confusion.map((row) => order.map((k) => row[k])),
    {
      title: {
        text: "Class x k-means cluster of compact features",
        subtitle: `${label}: V-measure ${c.vMeasure.toFixed(3)}, ARI ${c.ari.toFixed(3)}`,
      },
      rowTitle: "true class",
      columnTitle: "cluster → Hungarian class",
    },
  );
  if (analysis.reconstruction.available) {
    const r = analysis.reconstruction.all;
    charts.reconstruction_confusion = heatmapChart(r.classes, r.classes, r.matrix, {
      title: {
        text: "Reconstruction → nearest class prototype",
        subtitle: [
          `${label}: off-diagonal ${(100 * r.offDiagonalShare).toFixed(1)}%`,
          `(the encoder's own features: ${
            (100 * analysis.reconstruction.encoder.offDiagonalShare).toFixed(1)
          }%)`,
        ],
      },
      rowTitle: "true class",
      columnTitle: "class whose prototype the reconstruction is nearest",
    });
  }
  if (analysis.deltas) charts.metric_deltas = metricDeltaChart(analysis.deltas);
  return charts;
}

/** Options of {@linkcode analyseRun}. */
export interface AnalyseRunOptions {
  /** Another run to compare per-class metrics against (`this - against`). */
  against?: string;
  /** Output folder (default `<runDir>/confusion`). */
  outDir?: string;
  umap?: boolean;
  log?: (line: string) => void;
}

/**
 * Analyses a joint run from its checkpoints and writes `report.json` and the charts
 * (`.vl.json`, `.svg`, `.png`) to `<runDir>/confusion/`.
 */
export async function analyseRun(
  runDir: string,
  options: AnalyseRunOptions = {},
): Promise<{ analysis: ConfusionAnalysis; outDir: string; files: string[] }> {
  const say = options.log ?? ((line: string) => console.error(line));
  // Read the comparison first: a bad --against fails before the slow part.
  const deltas = options.against
    ? metricDeltas(await readRunMetrics(options.against), await readRunMetrics(runDir))
    : undefined;
  const run = await openTrainedRun(runDir, { requireJoint: true, log: say });
  let analysis: ConfusionAnalysis;
  try {
    const foreignSources = await readForeignSources(run.dataset.root);
    const model = await withUnitModel(run, "joint", (m) =>
      analyseModel(m, run.dataset, {
        size: run.config.imageSize,
        batchSize: run.config.batchSize,
        seed: run.config.seed,
        cache: new Map(),
        umap: options.umap,
        foreignSources,
        log: (line) => say(`[${run.config.name}] ${line}`),
      }));
    analysis = {
      run: run.config.name,
      strategy: run.config.strategy,
      ccl: run.config.ccl !== null,
      seed: run.config.seed,
      ...model,
      ...(deltas ? { deltas } : {}),
      createdAt: new Date().toISOString(),
    };
  } finally {
    run.backbone.dispose();
  }
  const outDir = options.outDir ?? join(runDir, "confusion");
  await writeJsonAtomic(join(outDir, "report.json"), analysis);
  const files = [join(outDir, "report.json")];
  for (const [name, spec] of Object.entries(confusionCharts(analysis))) {
    files.push((await writeChart(spec, join(outDir, name))).png);
  }
  return { analysis, outDir, files };
}

/** A short text summary of an analysis, for the terminal. */
export function formatAnalysis(a: ConfusionAnalysis): string {
  const c = a.clustering;
  const n = a.clusteringNormal;
  const lines = [
    `${a.run}: ${a.classes.length} classes, ${a.testImages.total} test images ` +
    `(${a.testImages.anomalous} anomalous)`,
    `k-means on compact features, all test images: V-measure ${c.vMeasure.toFixed(3)} ` +
    `(homogeneity ${c.homogeneity.toFixed(3)}, completeness ${c.completeness.toFixed(3)}), ` +
    `NMI ${c.nmi.toFixed(3)}, ARI ${c.ari.toFixed(3)}, purity ${c.purity.toFixed(3)}, ` +
    `Hungarian accuracy ${c.hungarianAccuracy.toFixed(3)}`,
    `  normal test images only: V-measure ${n.vMeasure.toFixed(3)}, ARI ${n.ari.toFixed(3)}`,
  ];
  const r = a.reconstruction;
  if (!r.available) {
    lines.push(`reconstruction confusion: ${r.reason}`);
  } else {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    lines.push(
      `reconstruction nearest another class's prototype: ${pct(r.all.offDiagonalShare)} of test ` +
        `images (normal ${pct(r.normal.offDiagonalShare)}, anomalous ${
          pct(r.anomalous.offDiagonalShare)
        }); ` +
        `the encoder's own features: ${pct(r.encoder.offDiagonalShare)}`,
    );
    if ("note" in r.foreign) {
      lines.push(`foreign_class regions: ${r.foreign.note}`);
    } else {
      const f = r.foreign;
      lines.push(
        `foreign_class regions (${f.regions}): reconstructed toward the host class ${
          pct(f.towardHost)
        }, ` +
          `toward the pasted class ${pct(f.towardPasted)}, other ${pct(f.towardOther)}; the ` +
          `encoder sees the pasted class in ${pct(f.targetNearestPasted)}`,
      );
    }
  }
  if (a.deltas) {
    const d = a.deltas;
    lines.push(
      `mean deltas ${d.other} - ${d.base}: ` +
        METRIC_NAMES.map((m) => `${METRIC_LABELS[m]} ${(100 * d.mean[m]).toFixed(1)}`).join(", "),
    );
  }
  return lines.join("\n");
}
