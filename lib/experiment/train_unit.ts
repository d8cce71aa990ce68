/**
 * Trains one unit (one class for `per-class`, all classes for `joint`): seeded epochs over the
 * training images, CCL's augmented view when asked for, a checkpoint after every epoch, optional
 * evaluation every N epochs, and resumption from the last checkpoint.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { resolveCCLConfig } from "../ccl/config.ts";
import { augmentBatch } from "../data/augment.ts";
import { batchIterator, type DecodeCache } from "../data/batches.ts";
import { normalizeImageNet } from "../data/image.ts";
import type { SampleRecord } from "../data/types.ts";
import { combineClassEvaluations } from "../metrics/evaluate.ts";
import type { MetricSet } from "../metrics/metric_names.ts";
import { createTrainer } from "../methods/trainer.ts";
import { deriveSeed, mulberry32 } from "../util/random.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import type { ExperimentConfig } from "./config.ts";
import type { ClassSplit } from "./dataset.ts";
import type { UnitModel } from "./model.ts";
import { evaluateUnitTestSet } from "./predict.ts";
import { createProgress, type ProgressMode } from "./progress.ts";

/** One line of the per-epoch log. */
export interface EpochLog {
  unit: string;
  epoch: number;
  /** Mean of each named loss over the epoch's batches. */
  losses: Record<string, number>;
  seconds: number;
  imagesPerSecond: number;
  /** Mean-over-classes metrics of the unit, when evaluated after this epoch. */
  metrics?: MetricSet;
  /** Sequential and continual strategies: the stage that ended with this epoch. */
  stage?: StageRecord;
}

/** One stage of a sequential or continual run, as logged after its last epoch. */
export interface StageRecord {
  /** 0-based position in the class order. */
  index: number;
  /** The class trained in this stage. */
  className: string;
  /** The whole order (the same in every stage's record). */
  order: string[];
  /** Training images of the stage (the class's, plus replayed ones for `continual`). */
  trainImages: number;
  /** Replayed images of earlier classes in the stage (0 for `sequential`). */
  replayed: number;
  /** Per class of the whole dataset: I-AUROC and P-AUROC of the model after this stage. */
  perClass: Record<string, { iAuroc: number; pAuroc: number }>;
}

/** What {@linkcode trainUnit} needs. */
export interface TrainUnitOptions {
  config: ExperimentConfig;
  unit: string;
  model: UnitModel;
  split: ClassSplit;
  /** Class id (true class or pseudo-label) of a training record. */
  classIdOf: (record: SampleRecord) => number;
  cache: DecodeCache;
  /** Checkpoint file of this unit. */
  checkpointPath: string;
  /** Fingerprint of the config; a checkpoint with another is refused. */
  configKey: string;
  /** Continue from the checkpoint if there is one (otherwise one is an error). */
  resume: boolean;
  progress?: ProgressMode;
  /** Called after every epoch (e.g. to append to the run's log file). */
  onEpoch?: (entry: EpochLog, unitLog: readonly EpochLog[]) => Promise<void> | void;
  /** Stops at the next batch or after the current epoch's checkpoint (throws its reason). */
  signal?: AbortSignal;
  /** Log entries of earlier stages (sequential strategies), kept in this unit's checkpoints. */
  priorLog?: readonly EpochLog[];
  /** Computed after the last epoch, before its checkpoint, and logged with it. */
  stageRecord?: () => Promise<StageRecord>;
}

/** The outcome of training a unit. */
export interface TrainUnitResult {
  log: EpochLog[];
  /** Seconds of training (summed over epochs, also those before a resume). */
  trainSeconds: number;
  resumedFromEpoch: number;
}

/** Trains `options.model` on the unit's training images for `config.epochs` epochs. */
export async function trainUnit(options: TrainUnitOptions): Promise<TrainUnitResult> {
  const { config, unit, model, split, cache } = options;
  const { objective, method } = model;
  const shuffleSeed = deriveSeed(config.seed, `${unit}/order`);
  const augmentation = config.ccl ? resolveCCLConfig(config.ccl).augmentation : {};
  const dropLast = split.train.length > config.batchSize;
  const batchesPerEpoch = dropLast
    ? Math.floor(split.train.length / config.batchSize)
    : Math.ceil(split.train.length / config.batchSize);
  const totalSteps = batchesPerEpoch * config.epochs;
  const trainer = createTrainer(objective, {
    clipNorm: config.clipNorm > 0 ? config.clipNorm : undefined,
    totalSteps,
    phases: method.phases?.(),
  });
  try {
    const { log, startEpoch } = await restore(options, trainer);
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      const started = performance.now();
      const sums: Record<string, number> = {};
      let batches = 0;
      let images = 0;
      const bar = createProgress(
        `${unit} epoch ${epoch + 1}/${config.epochs}`,
        batchesPerEpoch,
        { mode: options.progress },
      );
      for await (
        const batch of batchIterator(split.train, {
          batchSize: config.batchSize,
          size: config.imageSize,
          shuffle: true,
          seed: shuffleSeed,
          epoch,
          dropLast,
          normalize: false,
          cache,
        })
      ) {
        options.signal?.throwIfAborted();
        const [b, h, w] = batch.shape;
        const augmented = objective.needsAugmentedView
          ? augmentBatch(
            batch.images,
            [b, h, w],
            mulberry32(deriveSeed(config.seed, `${unit}/augment/${epoch}/${batches}`)),
            augmentation,
          )
          : undefined;
        const step = trainer.steps;
        // Synthetic anomalies are drawn from a generator seeded by the step alone, so a
        // resumed run draws exactly what an uninterrupted one would.
        const synthetic = method.prepareBatch?.(
          { images: batch.images, shape: [b, h, w] },
          mulberry32(deriveSeed(config.seed, `${unit}/prepare/${step}`)),
        );
        method.beginStep?.({ step, totalSteps, phase: trainer.phaseAt(step) });
        objective.beginStep?.(step);
        const tensors = {
          images: tf.tensor4d(normalizeImageNet(batch.images), batch.shape),
          augmented: augmented ? tf.tensor4d(normalizeImageNet(augmented), batch.shape) : undefined,
          synthetic: synthetic
            ? {
              images: tf.tensor4d(normalizeImageNet(synthetic.images), batch.shape),
              masks: tf.tensor4d(synthetic.masks, [b, h, w, 1]),
            }
            : undefined,
        };
        let losses: Record<string, number>;
        try {
          losses = await trainer.step({
            images: tensors.images,
            augmented: tensors.augmented,
            synthetic: tensors.synthetic,
            classIds: Int32Array.from(batch.records, options.classIdOf),
          });
        } finally {
          tf.dispose([
            tensors.images,
            ...(tensors.augmented ? [tensors.augmented] : []),
            ...(tensors.synthetic ? [tensors.synthetic.images, tensors.synthetic.masks] : []),
          ]);
        }
        for (const [name, value] of Object.entries(losses)) {
          if (!Number.isFinite(value)) {
            throw new Error(`${unit}: loss "${name}" is ${value} at epoch ${epoch + 1}`);
          }
          sums[name] = (sums[name] ?? 0) + value;
        }
        batches++;
        images += b;
        bar.update(batches, { loss: sums.total / batches });
      }
      const seconds = (performance.now() - started) / 1000;
      const losses = Object.fromEntries(
        Object.entries(sums).map(([name, sum]) => [name, sum / batches]),
      );
      bar.finish({ loss: losses.total, "img/s": images / seconds });
      const entry: EpochLog = {
        unit,
        epoch: epoch + 1,
        losses,
        seconds,
        imagesPerSecond: images / seconds,
      };
      const isLast = epoch + 1 === config.epochs;
      if (config.evalEvery > 0 && (epoch + 1) % config.evalEvery === 0 && !isLast) {
        entry.metrics = await evaluateUnit(options);
      }
      if (isLast && options.stageRecord) entry.stage = await options.stageRecord();
      log.push(entry);
      await saveCheckpoint(options.checkpointPath, {
        variables: objective.namedVariables(),
        optimizers: await trainer.getOptimizerWeights(),
      }, { epoch: epoch + 1, step: trainer.steps, configKey: options.configKey, extra: { log } });
      await options.onEpoch?.(entry, log);
      options.signal?.throwIfAborted();
    }
    return {
      log,
      trainSeconds: log.slice(options.priorLog?.length ?? 0).reduce(
        (sum, entry) => sum + entry.seconds,
        0,
      ),
      resumedFromEpoch: startEpoch,
    };
  } finally {
    trainer.dispose();
  }
}

async function restore(
  options: TrainUnitOptions,
  trainer: ReturnType<typeof createTrainer>,
): Promise<{ log: EpochLog[]; startEpoch: number }> {
  const variables = options.model.objective.namedVariables();
  const loaded = await loadCheckpoint<{ log: EpochLog[] }>(options.checkpointPath, variables);
  if (!loaded) return { log: [...(options.priorLog ?? [])], startEpoch: 0 };
  if (!options.resume) {
    throw new Error(
      `${options.checkpointPath} exists: pass --resume to continue that run, or remove the ` +
        `run's folder to start afresh`,
    );
  }
  if (loaded.state.configKey !== options.configKey) {
    throw new Error(`${options.checkpointPath} was written by another config; cannot resume`);
  }
  await trainer.setOptimizerWeights(loaded.optimizers, loaded.state.step);
  return { log: loaded.state.extra.log, startEpoch: loaded.state.epoch };
}

/** Mean-over-classes metrics of the unit's test set with the model as it is now. */
export async function evaluateUnit(options: TrainUnitOptions): Promise<MetricSet> {
  const tested = await evaluateUnitTestSet(
    options.model.objective,
    options.split.test,
    { ...options.config, unit: options.unit },
    options.cache,
    options.progress,
  );
  return combineClassEvaluations(tested.classes).mean;
}
