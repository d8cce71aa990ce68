/**
 * Re-evaluates a trained run from its checkpoints, without training.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "@std/path";
import type { DecodeCache } from "../data/batches.ts";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { type ExperimentConfig, resolveConfig } from "./config.ts";
import { splitForClasses } from "./dataset.ts";
import { buildUnitModel } from "./model.ts";
import { predictUnitTestSet, type TestPredictions } from "./predict.ts";
import type { ProgressMode } from "./progress.ts";
import { checkpointPath, evaluatePredictions, prepareRun } from "./run_experiment.ts";
import type { EvaluationResult } from "../metrics/evaluate.ts";

/** Options of {@linkcode evaluateRun}. */
export interface EvaluateRunOptions {
  /** Overrides of the saved config that do not change the model (e.g. `backend`, `data.root`). */
  overrides?: Partial<Pick<ExperimentConfig, "backend" | "batchSize">> & {
    data?: ExperimentConfig["data"];
  };
  progress?: ProgressMode;
  log?: (line: string) => void;
}

/** The evaluation written to `eval.json`. */
export interface RunEvaluation extends EvaluationResult {
  config: ExperimentConfig;
  backend: string;
  evaluatedAt: string;
}

/** Loads `runDir/config.json` and every unit's checkpoint, predicts the test set and evaluates. */
export async function evaluateRun(
  runDir: string,
  options: EvaluateRunOptions = {},
): Promise<RunEvaluation> {
  const saved = JSON.parse(await Deno.readTextFile(join(runDir, "config.json")));
  const config = resolveConfig({
    ...saved,
    ...options.overrides,
    data: { ...saved.data, ...options.overrides?.data },
  });
  const say = options.log ?? ((line: string) => console.error(line));
  const { backend, dataset, backbone, units } = await prepareRun(config, say);
  const cache: DecodeCache = new Map();
  const predictions: TestPredictions[] = [];
  try {
    for (const { unit, classes } of units) {
      const split = splitForClasses(dataset, classes);
      const model = buildUnitModel(config, backbone, unit);
      try {
        const path = checkpointPath(runDir, unit);
        const loaded = await loadCheckpoint(path, model.objective.namedVariables());
        if (!loaded) throw new Error(`${path}: no checkpoint for unit "${unit}"`);
        tf.dispose(loaded.optimizers.flat().map(({ tensor }) => tensor));
        say(`[${config.name}] ${unit}: checkpoint after epoch ${loaded.state.epoch}`);
        predictions.push(
          await predictUnitTestSet(
            model.objective,
            split.test,
            { ...config, unit },
            cache,
            options.progress,
          ),
        );
      } finally {
        model.dispose();
      }
    }
  } finally {
    backbone.dispose();
  }
  const evaluation: RunEvaluation = {
    ...evaluatePredictions(predictions),
    config,
    backend: backend.name,
    evaluatedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(join(runDir, "eval.json"), evaluation);
  return evaluation;
}
