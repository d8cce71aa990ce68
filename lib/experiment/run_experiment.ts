/**
 * The experiment runner: one config in, trained models, evaluation and a results folder out.
 * @module
 */
import { join } from "@std/path";
import { type BackendInfo, selectBackend } from "../backend/select_backend.ts";
import { loadBackbone } from "../backbones/registry.ts";
import type { Backbone } from "../backbones/types.ts";
import { classIdsFromPseudoLabels, classIndexFromNames, readPseudoLabels } from "../ccl/labels.ts";
import { BoundedDecodeCache } from "../data/decode_cache.ts";
import type { Dataset, SampleRecord } from "../data/types.ts";
import {
  type ClassEvaluation,
  combineClassEvaluations,
  evaluate,
  type EvaluationResult,
} from "../metrics/evaluate.ts";
import { classClustering, type ClassClusteringReport } from "../analysis/class_clustering.ts";
import {
  type DefectBreakdown,
  defectBreakdown,
  imagePredictions,
  meanByDefect,
} from "./defect_breakdown.ts";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import { type GitRevision, gitRevision } from "../util/git_revision.ts";
import { type ExperimentConfig, type PartialConfig, resolveConfig } from "./config.ts";
import { resolveDataset, splitForClasses } from "./dataset.ts";
import type { DatasetFingerprint } from "../data/fingerprint.ts";
import { configFingerprint } from "./fingerprint.ts";
import { openRunFolder, recordRunInputs } from "./run_folder.ts";
import { checkBeforeTraining } from "./unit_checks.ts";
import { buildUnitModel } from "./model.ts";
import { evaluateUnitTestSet, type ScoredRecords, type TestPredictions } from "./predict.ts";
import type { ProgressMode } from "./progress.ts";
import { metricsTable } from "./results_table.ts";
import { type EpochLog, trainUnit } from "./train_unit.ts";

/** Options of {@linkcode runExperiment}. */
export interface RunOptions {
  /** Parent folder of run folders (default `results`). */
  resultsDir?: string;
  /** Continue from the units' checkpoints (default false: an existing checkpoint is an error). */
  resume?: boolean;
  progress?: ProgressMode;
  /** Keep the checkpoints after a successful run (default true). */
  keepCheckpoints?: boolean;
  /** Prints one-line status messages (default `console.error`). */
  log?: (line: string) => void;
  /** Called after every epoch of every unit, after its checkpoint is written. */
  onEpoch?: (entry: EpochLog) => Promise<void> | void;
  /**
   * Stops training: at the next batch, or right after the current epoch's checkpoint if the
   * signal fires in `onEpoch`. The run can then continue with `resume`.
   */
  signal?: AbortSignal;
}

/** One trained unit in the results. */
export interface UnitSummary {
  unit: string;
  classes: string[];
  trainImages: number;
  testImages: number;
  trainSeconds: number;
  resumedFromEpoch: number;
  /**
   * Units with several classes: how well the model's compact features of the normal test
   * images cluster by class (k-means V-measure); lower means more inter-class confusion.
   */
  classClustering?: ClassClusteringReport;
}

/** What `metrics.json` holds. */
export interface RunResult {
  config: ExperimentConfig;
  backend: BackendInfo;
  seed: number;
  startedAt: string;
  finishedAt: string;
  trainSeconds: number;
  evalSeconds: number;
  /** The dataset; `root` relative to the repository when inside it. */
  dataset: {
    name: string;
    root: string;
    layout: string;
    classes: string[];
    images: number;
    fingerprint: DatasetFingerprint;
  };
  units: UnitSummary[];
  perClass: EvaluationResult["perClass"];
  mean: EvaluationResult["mean"];
  /** Mean over classes of each defect type's I-AUROC (vs the class's normal images). */
  meanByDefect: Record<string, number>;
  /** Per class and defect type: I-AUROC against the class's normal images. */
  perDefect: DefectBreakdown;
  notes: string[];
  software: { deno: string; tfjs: string; git?: GitRevision };
}

/** The run folder of a config. */
export function runDirectory(config: ExperimentConfig, resultsDir = "results"): string {
  return join(resultsDir, config.name);
}

/**
 * Trains and evaluates the config's method (with CCL if set) per class or jointly, and writes
 * `metrics.json`, `table.md` and `log.jsonl` to `results/<name>/`.
 */
export async function runExperiment(
  partial: PartialConfig,
  options: RunOptions = {},
): Promise<RunResult> {
  const config = resolveConfig(partial);
  const say = options.log ?? ((line: string) => console.error(line));
  const startedAt = new Date();
  const runDir = runDirectory(config, options.resultsDir);
  await openRunFolder(runDir, config, options.resume ?? false); // before anything is written
  const { backend, dataset, backbone, units } = await prepareRun(config, say);
  const inputs = await recordRunInputs(runDir, config, dataset);
  const configKey = await configFingerprint(config);
  const classIdOf = await classIdLookup(config, dataset);
  // Bounded: decoded images of a large dataset do not all stay in memory.
  const cache = new BoundedDecodeCache();
  const summaries: UnitSummary[] = [];
  // Evaluated class by class as each unit finishes; only scores are kept, not maps.
  const classEvaluations: ClassEvaluation[] = [];
  const scored: ScoredRecords[] = [];
  const finishedLog: EpochLog[] = [];
  let evalSeconds = 0;
  try {
    for (const { unit, classes } of units) {
      const split = splitForClasses(dataset, classes);
      say(
        `[${config.name}] ${unit}: ${split.train.length} train, ${split.test.length} test images`,
      );
      const model = buildUnitModel(config, backbone, unit);
      try {
        const trained = await trainUnit({
          config,
          unit,
          model,
          split,
          classIdOf,
          cache,
          checkpointPath: checkpointPath(runDir, unit),
          configKey,
          resume: options.resume ?? false,
          progress: options.progress,
          signal: options.signal,
          onEpoch: async (entry, unitLog) => {
            await writeTextAtomic(
              join(runDir, "log.jsonl"),
              [...finishedLog, ...unitLog].map((e) => JSON.stringify(e)).join("\n") + "\n",
            );
            await options.onEpoch?.(entry);
          },
        });
        finishedLog.push(...trained.log);
        const evalStarted = performance.now();
        const tested = await evaluateUnitTestSet(
          model.objective,
          split.test,
          { ...config, unit },
          cache,
          options.progress,
        );
        classEvaluations.push(...tested.classes);
        scored.push(tested.scored);
        const normals = split.test.filter((r) => r.label === 0);
        const clustering = classes.length > 1
          ? await classClustering(model.objective, normals, {
            size: config.imageSize,
            batchSize: config.batchSize,
            seed: config.seed,
            cache,
          })
          : undefined;
        evalSeconds += (performance.now() - evalStarted) / 1000;
        summaries.push({
          unit,
          classes,
          trainImages: split.train.length,
          testImages: split.test.length,
          trainSeconds: trained.trainSeconds,
          resumedFromEpoch: trained.resumedFromEpoch,
          ...(clustering ? { classClustering: clustering } : {}),
        });
      } finally {
        model.dispose();
      }
    }
  } finally {
    backbone.dispose();
  }
  const evaluation = combineClassEvaluations(classEvaluations);
  const images = imagePredictions(scored, dataset.root);
  const perDefect = defectBreakdown(images);
  const result: RunResult = {
    config,
    backend,
    seed: config.seed,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    trainSeconds: summaries.reduce((sum, s) => sum + s.trainSeconds, 0),
    evalSeconds,
    dataset: {
      name: dataset.name,
      root: inputs.root,
      layout: dataset.layout,
      classes: dataset.classes,
      images: dataset.records.length,
      fingerprint: inputs.fingerprint,
    },
    units: summaries,
    perClass: evaluation.perClass,
    mean: evaluation.mean,
    meanByDefect: meanByDefect(perDefect),
    perDefect,
    notes: evaluation.notes,
    software: { deno: Deno.version.deno, tfjs: backend.tfjsVersion, git: await gitRevision() },
  };
  await writeJsonAtomic(join(runDir, "metrics.json"), result);
  await writeJsonAtomic(join(runDir, "predictions.json"), images);
  await writeTextAtomic(join(runDir, "table.md"), metricsTable([{ label: config.name, result }]));
  if (options.keepCheckpoints === false) {
    await Deno.remove(join(runDir, "checkpoints"), { recursive: true }).catch(() => {});
  }
  say(`[${config.name}] mean mAD ${(result.mean.mAD * 100).toFixed(1)} -> ${runDir}`);
  return result;
}

/** A training unit: its name (a class, or `joint`) and its classes. */
export interface RunUnit {
  unit: string;
  classes: string[];
}

/** What a run needs before training: backend, dataset, frozen backbone and units. */
export interface PreparedRun {
  backend: BackendInfo;
  dataset: Dataset;
  backbone: Backbone;
  units: RunUnit[];
}

/** Starts the backend, reads the dataset, loads the backbone and lists the training units. */
export async function prepareRun(
  config: ExperimentConfig,
  say: (line: string) => void = () => {},
): Promise<PreparedRun> {
  const backend = await selectBackend({
    requested: config.backend === "auto" ? undefined : config.backend,
    log: false,
  });
  say(`[${config.name}] backend ${backend.name}, seed ${config.seed}, ${config.strategy}`);
  const dataset = await resolveDataset(config);
  const units = config.strategy === "joint"
    ? [{ unit: "joint", classes: dataset.classes }]
    : dataset.classes.map((name) => ({ unit: name, classes: [name] }));
  await checkBeforeTraining(dataset, units, (line) => say(`[${config.name}] ${line}`));
  const backbone = await loadBackbone(config.backbone, { seed: config.seed });
  return { backend, dataset, backbone, units };
}

/** The checkpoint file of a unit of a run. */
export function checkpointPath(runDir: string, unit: string): string {
  return join(runDir, "checkpoints", `${unit}.safetensors`);
}

/** Evaluates the predictions of all units together (per class, then the mean over classes). */
export function evaluatePredictions(predictions: readonly TestPredictions[]): EvaluationResult {
  const size = predictions[0].size;
  return evaluate({
    scores: predictions.flatMap((p) => [...p.scores]),
    maps: predictions.flatMap((p) => p.maps),
    masks: predictions.flatMap((p) => p.masks),
    classNames: predictions.flatMap((p) => p.classNames),
    shape: [size, size],
  });
}

async function classIdLookup(
  config: ExperimentConfig,
  dataset: Dataset,
): Promise<(record: SampleRecord) => number> {
  if (config.labels === "class") {
    const index = classIndexFromNames(dataset.classes);
    return (record) => index.idOf(record.className);
  }
  const source = config.labels.pseudoLabels;
  const labels = await readPseudoLabels(source);
  const train = dataset.records.filter((r) => r.split === "train");
  const ids = classIdsFromPseudoLabels(
    train.map((r) => r.imagePath),
    labels,
    source,
    dataset.root,
  );
  const byPath = new Map(train.map((r, i) => [r.imagePath, ids[i]]));
  return (record) => byPath.get(record.imagePath)!;
}
