/**
 * Opens a trained run folder for analysis: its config, dataset, backbone and units, and loads a
 * unit's model from its checkpoint. Checks up front what the analysis needs, with messages that
 * say what is missing.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { join } from "@std/path";
import type { CCLObjective } from "../ccl/ccl_objective.ts";
import { pathExists } from "../data/listing.ts";
import { loadCheckpoint } from "../experiment/checkpoint.ts";
import { type ExperimentConfig, resolveConfig } from "../experiment/config.ts";
import { buildUnitModel, type UnitModel } from "../experiment/model.ts";
import { checkpointPath, type PreparedRun, prepareRun } from "../experiment/run_experiment.ts";
import type { PredictOptions } from "../methods/types.ts";

/** A run folder opened for analysis. */
export interface TrainedRun extends PreparedRun {
  runDir: string;
  config: ExperimentConfig;
}

/** Options of {@linkcode openTrainedRun}. */
export interface OpenRunOptions {
  /** Require one model over all classes (cross-class analyses); default false. */
  requireJoint?: boolean;
  log?: (line: string) => void;
}

/** Reads `runDir/config.json` (an error naming the file if absent or not JSON). */
export async function readRunConfig(runDir: string): Promise<ExperimentConfig> {
  const path = join(runDir, "config.json");
  let saved: unknown;
  try {
    saved = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: not found; ${runDir} is not a run folder (results/<name>/)`);
    }
    throw new Error(`${path}: cannot read it (${(error as Error).message})`);
  }
  return resolveConfig(saved as Parameters<typeof resolveConfig>[0]);
}

/** Checks that a run has what the analysis needs, before any heavy work. */
export async function checkRunForAnalysis(
  runDir: string,
  config: ExperimentConfig,
  options: { requireJoint?: boolean } = {},
): Promise<void> {
  if (options.requireJoint && config.strategy !== "joint") {
    throw new Error(
      `${runDir} is a ${config.strategy} run (one model per class): the cross-class analysis ` +
        `(clustering one model's features of all classes, reconstruction toward other classes' ` +
        `prototypes) needs a joint model. Analyse a joint run and compare against this one with ` +
        `--against ${runDir}.`,
    );
  }
  const dir = join(runDir, "checkpoints");
  const files = (await pathExists(dir))
    ? [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".safetensors"))
    : [];
  if (files.length === 0) {
    throw new Error(
      `${dir}: no checkpoints. The analysis needs the trained model: checkpoints are not ` +
        `committed with results, so re-run the training (same config, e.g. \`deno task train ` +
        `--config ${join(runDir, "config.json")}\`) on this machine first.`,
    );
  }
  if (config.strategy === "joint" && !(await pathExists(checkpointPath(runDir, "joint")))) {
    throw new Error(`${checkpointPath(runDir, "joint")}: missing (the joint model's checkpoint)`);
  }
}

/** Opens a run: config, checks, backend, dataset, backbone and units. Dispose the backbone. */
export async function openTrainedRun(
  runDir: string,
  options: OpenRunOptions = {},
): Promise<TrainedRun> {
  const config = await readRunConfig(runDir);
  await checkRunForAnalysis(runDir, config, options);
  const prepared = await prepareRun(config, options.log);
  return { ...prepared, runDir, config };
}

/** The options inference must pass to the method (CCL's projector, without noise). */
export function predictOptionsOf(model: UnitModel): PredictOptions {
  const ccl = model.objective as Partial<CCLObjective>;
  return typeof ccl.predictOptions === "function" ? ccl.predictOptions() : {};
}

/** Builds `unit`'s model, restores its checkpoint, runs `use`, and frees the model. */
export async function withUnitModel<T>(
  run: TrainedRun,
  unit: string,
  use: (model: UnitModel) => Promise<T>,
): Promise<T> {
  const model = buildUnitModel(run.config, run.backbone, unit);
  try {
    const path = checkpointPath(run.runDir, unit);
    const loaded = await loadCheckpoint(path, model.objective.namedVariables());
    if (!loaded) throw new Error(`${path}: no checkpoint for unit "${unit}"`);
    tf.dispose(loaded.optimizers.flat().map(({ tensor }) => tensor));
    return await use(model);
  } finally {
    model.dispose();
  }
}
