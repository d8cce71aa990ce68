/**
 * Runs a run's training units (per-class units, or a joint run's one unit) on a worker pool:
 * each unit trains and evaluates in its own worker with its own TF.js, and the outcomes come
 * back in unit order, so the run's results are those of the serial loop.
 * @module
 */
import { join } from "@std/path";
import { WorkerPool } from "../parallel/pool.ts";
import type { TextureSet } from "../methods/synthetic/texture_folder.ts";
import type { PoolTask } from "../parallel/types.ts";
import { writeTextAtomic } from "../util/atomic_write.ts";
import type { ExperimentConfig } from "./config.ts";
import type { RunUnit, UnitOutcome } from "./run_experiment.ts";
import type { EpochLog } from "./train_unit.ts";
import type { UnitTaskArgs, UnitTaskEvent } from "./unit_task.ts";

/** What {@linkcode runUnitsInPool} needs besides the units. */
export interface UnitPoolOptions {
  config: ExperimentConfig;
  /** The backend the run selected, so that every worker uses the same one. */
  backendName: string;
  runDir: string;
  configKey: string;
  resume: boolean;
  /** The run's decoded textures (`config.textures`); shared with the workers, not copied. */
  textures?: TextureSet;
  /** A pool shared with other runs (the demo's); else one of `workers` is made and closed. */
  pool?: WorkerPool;
  workers?: number;
  signal?: AbortSignal;
  onEpoch?: (entry: EpochLog) => Promise<void> | void;
}

/** The relative cost of a unit: its training images, times ~2.5 for CCL's second view. */
export function unitWeight(config: ExperimentConfig, trainImages: number): number {
  return trainImages * config.epochs * (config.ccl ? 2.5 : 1);
}

/** Trains and evaluates `units` on the pool; outcomes in unit order. */
export async function runUnitsInPool(
  units: ReadonlyArray<RunUnit & { trainImages: number }>,
  options: UnitPoolOptions,
): Promise<UnitOutcome[]> {
  const { config, runDir } = options;
  const logs = new Map<string, readonly EpochLog[]>();
  // Epoch events of different units arrive interleaved; the file keeps unit order.
  let writing = Promise.resolve();
  const writeLog = () => {
    const lines = units.flatMap(({ unit }) => logs.get(unit) ?? []);
    writing = writing.then(() =>
      writeTextAtomic(
        join(runDir, "log.jsonl"),
        lines.map((e) => JSON.stringify(e)).join("\n") + "\n",
      )
    );
    return writing;
  };
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? new WorkerPool({
    workers: Math.min(options.workers ?? 1, units.length),
    signal: options.signal,
  });
  const module = new URL("./unit_task.ts", import.meta.url).href;
  const handler = async (event: UnitTaskEvent) => {
    logs.set(event.unit, event.unitLog);
    await writeLog();
    await options.onEpoch?.(event.entry);
  };
  try {
    return await Promise.all(units.map(({ unit, classes, trainImages }) => {
      const id = `${config.name}/${unit}`;
      const args: UnitTaskArgs = {
        config,
        backendName: options.backendName,
        unit,
        classes,
        runDir,
        configKey: options.configKey,
        resume: options.resume,
        textures: options.textures,
      };
      const task: PoolTask<UnitTaskArgs> = {
        id,
        module,
        fn: "trainUnitTask",
        args,
        weight: unitWeight(config, trainImages),
      };
      return pool.run<UnitOutcome>(task, (data) => handler(data as UnitTaskEvent));
    }));
  } finally {
    await writing.catch(() => {});
    if (ownPool) pool.close();
  }
}
