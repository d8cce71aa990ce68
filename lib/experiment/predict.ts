/**
 * Runs a trained objective over test records and collects what the metrics need.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchIterator, type DecodeCache } from "../data/batches.ts";
import type { SampleRecord } from "../data/types.ts";
import { type ClassEvaluation, evaluateClass } from "../metrics/evaluate.ts";
import type { Objective } from "../methods/types.ts";
import { createProgress, type ProgressMode } from "./progress.ts";
import { throwIfWebGpuErrors, watchWebGpuErrors } from "../backend/webgpu_errors.ts";

/** Per-image predictions and ground truth, in record order. */
export interface TestPredictions {
  records: SampleRecord[];
  scores: Float32Array;
  /** Anomaly maps, `size * size`, row-major. */
  maps: Float32Array[];
  /** Ground-truth masks, 0/1, `size * size`. */
  masks: Uint8Array[];
  classNames: string[];
  size: number;
}

/** Options of {@linkcode predictRecords}. */
export interface PredictRecordsOptions {
  size: number;
  batchSize: number;
  cache?: DecodeCache;
  label?: string;
  progress?: ProgressMode;
}

/** Predicts anomaly maps and scores for `records` in batches (inference mode, no gradients). */
export async function predictRecords(
  objective: Objective,
  records: readonly SampleRecord[],
  options: PredictRecordsOptions,
): Promise<TestPredictions> {
  const { size, batchSize } = options;
  const scores = new Float32Array(records.length);
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  const bar = createProgress(options.label ?? "predict", records.length, {
    mode: options.progress,
  });
  let done = 0;
  // A WebGPU kernel that fails validation leaves its output unwritten without throwing.
  watchWebGpuErrors();
  for await (
    const batch of batchIterator(records, {
      batchSize,
      size,
      withMasks: true,
      cache: options.cache,
    })
  ) {
    const count = batch.records.length;
    const { mapValues, scoreValues } = tf.tidy(() => {
      const prediction = objective.predict(tf.tensor4d(batch.images, batch.shape));
      return { mapValues: prediction.maps, scoreValues: prediction.scores };
    });
    const [mapData, scoreData] = await Promise.all([mapValues.data(), scoreValues.data()]);
    tf.dispose([mapValues, scoreValues]);
    throwIfWebGpuErrors(
      `${objective.name}: predicting the batch starting at ${batch.records[0].imagePath}`,
    );
    const [, height, width] = mapValues.shape;
    if (height !== size || width !== size) {
      throw new Error(
        `${objective.name}: predict returned ${height}x${width} maps, expected ${size}`,
      );
    }
    for (let i = 0; i < count; i++) {
      maps.push(Float32Array.from(mapData.subarray(i * size * size, (i + 1) * size * size)));
      masks.push(batch.masks![i]);
      scores[done + i] = scoreData[i];
    }
    done += count;
    bar.update(done);
  }
  bar.finish();
  return {
    records: [...records],
    scores,
    maps,
    masks,
    classNames: records.map((r) => r.className),
    size,
  };
}

/** {@linkcode predictRecords} with a run's image size and batch size, labelled by unit. */
export function predictUnitTestSet(
  objective: Objective,
  records: readonly SampleRecord[],
  run: { imageSize: number; batchSize: number; unit: string },
  cache?: DecodeCache,
  progress?: ProgressMode,
): Promise<TestPredictions> {
  return predictRecords(objective, records, {
    size: run.imageSize,
    batchSize: run.batchSize,
    cache,
    label: `${run.unit} test`,
    progress,
  });
}

/** Test records with their image scores, in record order (what per-image reports need). */
export interface ScoredRecords {
  records: SampleRecord[];
  scores: Float32Array;
}

/** What {@linkcode evaluateByClass} returns: per-class metrics and every image's score. */
export interface StreamedEvaluation {
  /** One per class, in order of the classes' first appearance in the records. */
  classes: ClassEvaluation[];
  /** Records grouped by class in that order, with their scores. */
  scored: ScoredRecords;
}

/**
 * Predicts and evaluates `records` one class at a time: only one class's anomaly maps and masks
 * exist at any moment, so memory does not grow with the test set. The per-class metrics are
 * those `evaluate` gives on the whole set (combine them with `combineClassEvaluations`).
 */
export async function evaluateByClass(
  objective: Objective,
  records: readonly SampleRecord[],
  options: PredictRecordsOptions,
): Promise<StreamedEvaluation> {
  const byClass = new Map<string, SampleRecord[]>();
  for (const record of records) {
    const group = byClass.get(record.className);
    if (group) group.push(record);
    else byClass.set(record.className, [record]);
  }
  const classes: ClassEvaluation[] = [];
  const ordered: SampleRecord[] = [];
  const scores = new Float32Array(records.length);
  for (const [className, group] of byClass) {
    const label = byClass.size > 1
      ? `${options.label ?? "predict"} ${className}`
      : options.label ?? "predict";
    const predictions = await predictRecords(objective, group, { ...options, label });
    classes.push(evaluateClass({
      className,
      scores: predictions.scores,
      maps: predictions.maps,
      masks: predictions.masks,
      shape: [predictions.size, predictions.size],
    }));
    scores.set(predictions.scores, ordered.length);
    ordered.push(...group);
  }
  return { classes, scored: { records: ordered, scores } };
}

/** {@linkcode evaluateByClass} with a run's image size and batch size, labelled by unit. */
export function evaluateUnitTestSet(
  objective: Objective,
  records: readonly SampleRecord[],
  run: { imageSize: number; batchSize: number; unit: string },
  cache?: DecodeCache,
  progress?: ProgressMode,
): Promise<StreamedEvaluation> {
  return evaluateByClass(objective, records, {
    size: run.imageSize,
    batchSize: run.batchSize,
    cache,
    label: `${run.unit} test`,
    progress,
  });
}
