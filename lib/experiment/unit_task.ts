/**
 * The pool task behind parallel units: one training unit of a run, trained and evaluated in
 * a worker that loads its own backend, dataset and backbone (the same ones the run chose).
 * @module
 */
import { selectBackend } from "../backend/select_backend.ts";
import { loadBackbone } from "../backbones/registry.ts";
import { BoundedDecodeCache } from "../data/decode_cache.ts";
import type { TextureSet } from "../methods/synthetic/texture_folder.ts";
import type { TaskContext } from "../parallel/types.ts";
import type { ExperimentConfig } from "./config.ts";
import { resolveDataset } from "./dataset.ts";
import { classIdLookup, runUnit, type UnitOutcome } from "./run_experiment.ts";
import type { EpochLog } from "./train_unit.ts";

/** Arguments of {@linkcode trainUnitTask} (structured-cloneable). */
export interface UnitTaskArgs {
  config: ExperimentConfig;
  backendName: string;
  unit: string;
  classes: string[];
  runDir: string;
  configKey: string;
  resume: boolean;
  /**
   * The run's textures (`config.textures`), decoded once by the run: their bytes sit in a
   * `SharedArrayBuffer`, so the worker receives them without a copy or a second decode.
   */
  textures?: TextureSet;
}

/** What the task emits after each epoch. */
export interface UnitTaskEvent {
  unit: string;
  entry: EpochLog;
  unitLog: readonly EpochLog[];
}

/** Trains and evaluates one unit; progress is printed as lines (the pool prefixes them). */
export async function trainUnitTask(
  args: UnitTaskArgs,
  context: TaskContext,
): Promise<UnitOutcome> {
  const { config } = args;
  await selectBackend({ requested: args.backendName, log: false });
  const dataset = await resolveDataset(config);
  const backbone = await loadBackbone(config.backbone, { seed: config.seed });
  try {
    return await runUnit(
      {
        config,
        dataset,
        backbone,
        classIdOf: await classIdLookup(config, dataset),
        cache: new BoundedDecodeCache(),
        runDir: args.runDir,
        configKey: args.configKey,
        resume: args.resume,
        textures: args.textures,
        progress: "lines",
        signal: context.signal,
        say: (line) => console.error(line),
      },
      { unit: args.unit, classes: args.classes },
      (entry, unitLog) => {
        const event: UnitTaskEvent = { unit: args.unit, entry, unitLog: [...unitLog] };
        context.emit(event);
      },
    );
  } finally {
    backbone.dispose();
  }
}
