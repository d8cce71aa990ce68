/**
 * How the classes of a dataset become trained models:
 * - `per-class`: one model per class (one-for-one);
 * - `joint`: one model on all classes at once;
 * - `sequential`: one model trained on the classes one after another, in the dataset's class
 *   order (recorded in the log), `epochs` epochs per class, each stage with a fresh optimiser;
 *   after every stage the model is evaluated on every class (I-AUROC, P-AUROC per class in the
 *   stage's log entry), so forgetting can be plotted; the final model is evaluated on all;
 * - `continual`: sequential with experience replay, a standard continual-learning remedy (the
 *   paper does not say which it used): each stage also trains on a fixed buffer of
 *   {@linkcode REPLAY_PER_CLASS} normal training images of every earlier class, drawn once per
 *   class with a seeded generator.
 *
 * A sequence resumes in the middle: each stage checkpoints after every epoch, its checkpoint
 * holds the whole model and the log of the stages before it; a resumed run skips the stages a
 * later checkpoint covers and continues the last one at its next epoch.
 * @module
 */
import { existsSync } from "node:fs";
import type { SampleRecord } from "../data/types.ts";
import { deriveSeed, mulberry32, shuffleInPlace } from "../util/random.ts";
import type { ClassSplit } from "./dataset.ts";
import { evaluateUnitTestSet } from "./predict.ts";
import {
  type EpochLog,
  type StageRecord,
  trainUnit,
  type TrainUnitOptions,
  type TrainUnitResult,
} from "./train_unit.ts";

/** Every strategy. */
export const STRATEGIES = ["per-class", "joint", "sequential", "continual"] as const;

/** Images of each earlier class replayed in every later stage of `continual`. */
export const REPLAY_PER_CLASS = 8;

/** A training unit: its name and its classes. */
export interface StrategyUnit {
  unit: string;
  classes: string[];
}

/**
 * The training units of `strategy` over `classes` (in order).
 *
 * @example
 * ```ts
 * import { strategyUnits } from "./strategies.ts";
 * const units = strategyUnits("sequential", ["a", "b"]);
 * if (units.length !== 1 || units[0].unit !== "sequential") throw new Error();
 * ```
 */
export function strategyUnits(strategy: string, classes: readonly string[]): StrategyUnit[] {
  switch (strategy) {
    case "per-class":
      return classes.map((name) => ({ unit: name, classes: [name] }));
    case "joint":
    case "sequential":
    case "continual":
      return [{ unit: strategy, classes: [...classes] }];
    default:
      throw new Error(
        `unknown strategy ${JSON.stringify(strategy)} (known: ${STRATEGIES.join(", ")})`,
      );
  }
}

/** Whether `strategy` trains the classes one after another. */
export function isSequential(strategy: string): boolean {
  return strategy === "sequential" || strategy === "continual";
}

/** The replay buffer of `className`: up to {@linkcode REPLAY_PER_CLASS} seeded picks. */
export function replayBuffer(
  train: readonly SampleRecord[],
  className: string,
  seed: number,
): SampleRecord[] {
  const own = train.filter((r) => r.className === className);
  return shuffleInPlace([...own], mulberry32(deriveSeed(seed, `replay/${className}`)))
    .slice(0, REPLAY_PER_CLASS);
}

/** The stage unit name of stage `index` (also its checkpoint's name). */
export function stageUnit(unit: string, index: number, className: string): string {
  return `${unit}-${String(index + 1).padStart(2, "0")}-${className}`;
}

/** Options of {@linkcode trainStrategyUnit}: a unit's, plus its strategy and checkpoint names. */
export interface StrategyUnitOptions extends TrainUnitOptions {
  strategy: string;
  /** The unit's classes, in the recorded order. */
  classes: readonly string[];
  /** The checkpoint file of a (stage) unit. */
  checkpointOf: (unit: string) => string;
}

/** Trains one unit as its strategy says (see the module doc). */
export async function trainStrategyUnit(options: StrategyUnitOptions): Promise<TrainUnitResult> {
  if (!isSequential(options.strategy)) return await trainUnit(options);
  const { classes, split, config } = options;
  const order = [...classes];
  const stages = order.map((className, index) => stageUnit(options.unit, index, className));
  const replay = options.strategy === "continual";
  let log: EpochLog[] = [];
  let trainSeconds = 0;
  let resumedFromEpoch = 0;
  for (const [index, className] of order.entries()) {
    // A later stage's checkpoint holds this stage's result: nothing to do here.
    if (
      options.resume && stages.slice(index + 1).some((s) => existsSync(options.checkpointOf(s)))
    ) {
      continue;
    }
    const own = split.train.filter((r) => r.className === className);
    const replayed = replay
      ? order.slice(0, index).flatMap((earlier) => replayBuffer(split.train, earlier, config.seed))
      : [];
    const stageSplit: ClassSplit = {
      train: [...own, ...replayed],
      test: split.test.filter((r) => r.className === className),
    };
    const stageRecord = async (): Promise<StageRecord> => {
      const tested = await evaluateUnitTestSet(
        options.model.objective,
        split.test,
        { ...config, unit: `${stages[index]} (all classes)` },
        options.cache,
        options.progress,
      );
      const perClass: StageRecord["perClass"] = {};
      for (const c of tested.classes) {
        perClass[c.className] = { iAuroc: c.metrics.iAuroc, pAuroc: c.metrics.pAuroc };
      }
      return {
        index,
        className,
        order,
        trainImages: stageSplit.train.length,
        replayed: replayed.length,
        perClass,
      };
    };
    const result = await trainUnit({
      ...options,
      unit: stages[index],
      split: stageSplit,
      checkpointPath: options.checkpointOf(stages[index]),
      priorLog: log,
      stageRecord,
    });
    log = result.log;
    trainSeconds = log.reduce((sum, entry) => sum + entry.seconds, 0);
    resumedFromEpoch = Math.max(resumedFromEpoch, result.resumedFromEpoch);
  }
  return { log, trainSeconds, resumedFromEpoch };
}
