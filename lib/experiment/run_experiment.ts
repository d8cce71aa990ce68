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
import {
  loadTextureFolder,
  textureFolderChanges,
  type TextureFolderFingerprint,
  type TextureSet,
} from "../methods/synthetic/texture_folder.ts";
import { recordedPath } from "../util/repo_path.ts";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import { type GitRevision, gitRevision } from "../util/git_revision.ts";
import { type ExperimentConfig, type PartialConfig, resolveConfig } from "./config.ts";
import { resolveDataset, splitForClasses } from "./dataset.ts";
import type { DatasetFingerprint } from "../data/fingerprint.ts";
import { configFingerprint } from "./fingerprint.ts";
import { openRunFolder, recordRunInputs } from "./run_folder.ts";
import { checkBeforeTraining } from "./unit_checks.ts";
import { assertConfigFilesExist } from "./validate_config.ts";
import { buildUnitModel } from "./model.ts";
import { evaluateUnitTestSet, type ScoredRecords, type TestPredictions } from "./predict.ts";
import type { ProgressMode } from "./progress.ts";
import { metricsTable } from "./results_table.ts";
import type { EpochLog } from "./train_unit.ts";
import { strategyUnits, trainStrategyUnit } from "./strategies.ts";
import { runUnitsInPool } from "./unit_pool.ts";
import type { WorkerPool } from "../parallel/pool.ts";

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
  /**
   * Trains the units on this many workers, each with its own TF.js (default 1: the serial
   * loop in this thread). Results are those of the serial loop; progress comes as lines.
   */
  workers?: number;
  /** A worker pool shared with other runs (the demo's); overrides `workers`. */
  pool?: WorkerPool;
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
  /** The texture folder DRAEM/DeSTSeg pasted (`config.textures`); absent: procedural. */
  textures?: RunTexturesRecord;
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
  assertConfigFilesExist(config);
  // Decoded (and so checked: a corrupt image is an error naming it) before any data is read.
  const textures = await loadRunTextures(config, say);
  const runDir = runDirectory(config, options.resultsDir);
  await openRunFolder(runDir, config, options.resume ?? false, say); // before anything is written
  if (options.resume) await assertSameTextures(runDir, textures);
  const { backend, dataset, backbone, units } = await prepareRun(config, say);
  const inputs = await recordRunInputs(runDir, config, dataset);
  await recordRunTextures(runDir, textures);
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
  const resume = options.resume ?? false;
  const workers = options.pool ? options.pool.size : Math.min(options.workers ?? 1, units.length);
  try {
    let outcomes: UnitOutcome[] = [];
    if (workers > 1) {
      // Each unit in its own worker (own TF.js); outcomes come back in unit order.
      say(`[${config.name}] ${units.length} unit(s) on ${workers} workers`);
      outcomes = await runUnitsInPool(
        units.map((u) => ({
          ...u,
          trainImages: splitForClasses(dataset, u.classes).train.length,
        })),
        {
          config,
          backendName: backend.name,
          runDir,
          configKey,
          resume,
          textures,
          pool: options.pool,
          workers,
          signal: options.signal,
          onEpoch: options.onEpoch,
        },
      );
    } else {
      const context: UnitContext = {
        config,
        dataset,
        backbone,
        classIdOf,
        cache,
        runDir,
        configKey,
        resume,
        textures,
        progress: options.progress,
        signal: options.signal,
        say,
      };
      for (const unit of units) {
        const outcome = await runUnit(context, unit, async (entry, unitLog) => {
          await writeTextAtomic(
            join(runDir, "log.jsonl"),
            [...finishedLog, ...unitLog].map((e) => JSON.stringify(e)).join("\n") + "\n",
          );
          await options.onEpoch?.(entry);
        });
        finishedLog.push(...outcome.log);
        outcomes.push(outcome);
      }
    }
    for (const outcome of outcomes) {
      classEvaluations.push(...outcome.classes);
      scored.push(outcome.scored);
      evalSeconds += outcome.evalSeconds;
      summaries.push(outcome.summary);
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
    ...(textures ? { textures: texturesRecord(textures) } : {}),
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

/** What one unit's training and evaluation yields (structured-cloneable: it crosses workers). */
export interface UnitOutcome {
  summary: UnitSummary;
  /** Per-class evaluations of the unit's test images. */
  classes: ClassEvaluation[];
  scored: ScoredRecords;
  log: EpochLog[];
  evalSeconds: number;
}

/** What {@linkcode runUnit} needs from its run. */
export interface UnitContext {
  config: ExperimentConfig;
  dataset: Dataset;
  backbone: Backbone;
  classIdOf: (record: SampleRecord) => number;
  cache: BoundedDecodeCache;
  runDir: string;
  configKey: string;
  resume: boolean;
  /** The run's textures (`config.textures`), decoded once per run. */
  textures?: TextureSet;
  progress?: ProgressMode;
  signal?: AbortSignal;
  say: (line: string) => void;
}

/**
 * Trains and evaluates one unit: the body of the serial loop and of each pool worker
 * (`unit_task.ts`), so both give the same numbers. `onEpoch` gets each epoch's entry and the
 * unit's log so far.
 */
export async function runUnit(
  context: UnitContext,
  { unit, classes }: RunUnit,
  onEpoch: (entry: EpochLog, unitLog: readonly EpochLog[]) => Promise<void> | void,
): Promise<UnitOutcome> {
  const { config, dataset, backbone, classIdOf, cache, runDir, configKey, say } = context;
  const split = splitForClasses(dataset, classes);
  say(
    `[${config.name}] ${unit}: ${split.train.length} train, ${split.test.length} test images`,
  );
  const model = buildUnitModel(config, backbone, unit, { textures: context.textures });
  try {
    const trained = await trainStrategyUnit({
      strategy: config.strategy,
      classes,
      checkpointOf: (name) => checkpointPath(runDir, name),
      config,
      unit,
      model,
      split,
      classIdOf,
      cache,
      checkpointPath: checkpointPath(runDir, unit),
      configKey,
      resume: context.resume,
      progress: context.progress,
      signal: context.signal,
      onEpoch,
    });
    const evalStarted = performance.now();
    const tested = await evaluateUnitTestSet(
      model.objective,
      split.test,
      { ...config, unit },
      cache,
      context.progress,
    );
    const normals = split.test.filter((r) => r.label === 0);
    const clustering = classes.length > 1
      ? await classClustering(model.objective, normals, {
        size: config.imageSize,
        batchSize: config.batchSize,
        seed: config.seed,
        cache,
      })
      : undefined;
    const evalSeconds = (performance.now() - evalStarted) / 1000;
    const summary: UnitSummary = {
      unit,
      classes,
      trainImages: split.train.length,
      testImages: split.test.length,
      trainSeconds: trained.trainSeconds,
      resumedFromEpoch: trained.resumedFromEpoch,
      ...(clustering ? { classClustering: clustering } : {}),
    };
    return {
      summary,
      classes: tested.classes,
      scored: tested.scored,
      log: trained.log,
      evalSeconds,
    };
  } finally {
    model.dispose();
  }
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
  const units = strategyUnits(config.strategy, dataset.classes);
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

/** The class id (true class or pseudo-label) of each training record of a run. */
export async function classIdLookup(
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

/** What `metrics.json` and `textures.json` say about the run's texture folder. */
export interface RunTexturesRecord {
  /** The folder; relative to the repository when inside it. */
  dir: string;
  /** The side the textures were decoded at (the run's image size). */
  size: number;
  fingerprint: TextureFolderFingerprint;
}

function texturesRecord(textures: TextureSet): RunTexturesRecord {
  return {
    dir: recordedPath(textures.dir),
    size: textures.height,
    fingerprint: textures.fingerprint,
  };
}

/**
 * Decodes `config.textures` at the run's image size (once per process for the same folder
 * content), saying how many images it read; undefined without textures.
 */
export async function loadRunTextures(
  config: ExperimentConfig,
  say: (line: string) => void = () => {},
): Promise<TextureSet | undefined> {
  if (config.textures === null) return undefined;
  const started = performance.now();
  let lastSaid = started;
  const textures = await loadTextureFolder(config.textures, config.imageSize, {
    onProgress: (done, total) => {
      // A DTD-sized folder takes a while: a line every 10 s.
      if (performance.now() - lastSaid < 10_000) return;
      lastSaid = performance.now();
      say(`[${config.name}] textures: ${done}/${total} decoded`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  say(
    `[${config.name}] textures: ${textures.count} images from ${config.textures} at ` +
      `${textures.height}px (${textures.fingerprint.hash}, ${seconds.toFixed(1)} s)`,
  );
  return textures;
}

/**
 * A resumed run must paste the textures it started with: its `textures.json` (written by
 * {@linkcode recordRunTextures}) is compared with the folder now, naming what changed.
 */
async function assertSameTextures(runDir: string, textures: TextureSet | undefined) {
  if (textures) {
    await assertTextureFolderUnchanged(runDir, textures.dir, textures.fingerprint, "resume");
  }
}

/**
 * Refuses to `verb` (resume, evaluate) a run whose texture folder changed since the run's
 * `textures.json` was written, naming the images that are new, gone or changed. A run without
 * `textures.json` used procedural textures; the config fingerprint covers that case.
 */
export async function assertTextureFolderUnchanged(
  runDir: string,
  dir: string,
  now: TextureFolderFingerprint,
  verb: string,
): Promise<void> {
  const path = join(runDir, "textures.json");
  let recorded: RunTexturesRecord;
  try {
    recorded = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const changes = textureFolderChanges(recorded.fingerprint, now);
  if (changes.length) {
    throw new Error(
      `cannot ${verb} ${runDir}: the texture folder ${dir} is not the one the run ` +
        `started with: ${changes.join("; ")} (${recorded.fingerprint.files} -> ` +
        `${now.files} images)`,
    );
  }
}

/** Writes `textures.json` of a run with textures; removes a stale one of a replaced run. */
async function recordRunTextures(runDir: string, textures: TextureSet | undefined) {
  const path = join(runDir, "textures.json");
  if (textures) await writeJsonAtomic(path, texturesRecord(textures));
  else await Deno.remove(path).catch(() => {});
}
