/**
 * Re-evaluates a trained run from its checkpoints, without training.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "@std/path";
import { BoundedDecodeCache } from "../data/decode_cache.ts";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { type ExperimentConfig, resolveConfig } from "./config.ts";
import { splitForClasses } from "./dataset.ts";
import { buildUnitModel } from "./model.ts";
import { evaluateUnitTestSet } from "./predict.ts";
import type { ProgressMode } from "./progress.ts";
import { assertTextureFolderUnchanged, checkpointPath, prepareRun } from "./run_experiment.ts";
import { textureFolderFingerprint } from "../methods/synthetic/texture_folder.ts";
import { readConfigFile } from "./config_file.ts";
import { configFingerprint } from "./fingerprint.ts";
import { verifyEvaluationDataset } from "./verify_run.ts";
import {
  type ClassEvaluation,
  combineClassEvaluations,
  type EvaluationResult,
} from "../metrics/evaluate.ts";

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

/**
 * Loads `runDir/config.json` and every unit's checkpoint, predicts the test set and evaluates.
 * Refuses, saying what changed, when a checkpoint was written under another config than
 * `config.json`, or when the dataset's classes or test set are not those the run used.
 */
export async function evaluateRun(
  runDir: string,
  options: EvaluateRunOptions = {},
): Promise<RunEvaluation> {
  const saved = await readConfigFile(join(runDir, "config.json"));
  const savedKey = await configFingerprint(resolveConfig(saved));
  const config = resolveConfig({
    ...saved,
    ...options.overrides,
    data: { ...saved.data, ...options.overrides?.data },
  });
  const say = options.log ?? ((line: string) => console.error(line));
  const { backend, dataset, backbone, units } = await prepareRun(config, say);
  try {
    await verifyEvaluationDataset(runDir, dataset, say);
    if (config.textures !== null) {
      const now = await textureFolderFingerprint(config.textures);
      await assertTextureFolderUnchanged(runDir, config.textures, now, "evaluate");
    }
  } catch (error) {
    backbone.dispose();
    throw error;
  }
  const cache = new BoundedDecodeCache();
  const classEvaluations: ClassEvaluation[] = [];
  try {
    for (const { unit, classes } of units) {
      const split = splitForClasses(dataset, classes);
      const model = buildUnitModel(config, backbone, unit);
      try {
        const path = checkpointPath(runDir, unit);
        const loaded = await loadCheckpoint(path, model.objective.namedVariables());
        if (!loaded) throw new Error(`${path}: no checkpoint for unit "${unit}"`);
        tf.dispose(loaded.optimizers.flat().map(({ tensor }) => tensor));
        if (loaded.state.configKey !== savedKey) {
          throw new Error(
            `${path} was trained under another config than ${join(runDir, "config.json")} ` +
              `(fingerprint ${loaded.state.configKey}, config.json ${savedKey}): the config ` +
              "file was changed after training; restore it or retrain",
          );
        }
        say(`[${config.name}] ${unit}: checkpoint after epoch ${loaded.state.epoch}`);
        const tested = await evaluateUnitTestSet(
          model.objective,
          split.test,
          { ...config, unit },
          cache,
          options.progress,
        );
        classEvaluations.push(...tested.classes);
      } finally {
        model.dispose();
      }
    }
  } finally {
    backbone.dispose();
  }
  const evaluation: RunEvaluation = {
    ...combineClassEvaluations(classEvaluations),
    config,
    backend: backend.name,
    evaluatedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(join(runDir, "eval.json"), evaluation);
  return evaluation;
}
