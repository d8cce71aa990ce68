/**
 * The planner: for a paper table and the dataset roots given, exactly the runs that table needs
 * (one per method, strategy and dataset or union, shared by every cell that uses it) and, for
 * each cell, which runs make it or why it cannot be made. Pure: no file is read or written.
 *
 * Without any root the plan is the embedded stand-in: each (method, strategy) row of the table
 * runs once on the embedded synthetic dataset, and the plan's title says that this is not a
 * reproduction.
 * @module
 */
import { join } from "@std/path";
import type { PartialConfig, Strategy } from "../experiment/config.ts";
import {
  type DataRoots,
  DATASET_KEYS,
  type DatasetKey,
  UNION_TARGETS,
  type UnionKey,
} from "./datasets.ts";
import {
  AVG4_DATASETS,
  type PaperCell,
  type PaperTable,
  paperTable,
  type StrategyLabel,
  type TableName,
  TARGET_TITLES,
  type TargetKey,
} from "./paper_tables.ts";
import { presetConfig, type TrainingPreset } from "./settings.ts";

/** Where our numbers of a run come from: a dataset, a union, or the embedded stand-in. */
export type RunTarget = DatasetKey | UnionKey | "synthetic";

/** One training + evaluation run of a plan. */
export interface PlannedRun {
  /** Run name and folder name: `<method>-<strategy>-<target>`, e.g. `rd-joint-ccl-mvtec`. */
  name: string;
  method: string;
  strategy: StrategyLabel;
  target: RunTarget;
  /** The config handed to `runExperiment`. */
  config: PartialConfig;
}

/** A cell of the paper's table and how ours is made. */
export interface PlannedCell extends PaperCell {
  /** Runs whose mean metrics make our number (several for an average column); [] if skipped. */
  runs: string[];
  /** What our number is measured on (differs from the paper's column for the stand-in). */
  oursOn: string;
  /** Why this cell is not planned, e.g. its dataset was not given. */
  skipped?: string;
}

/** A union the runs train on: its manifest folder and parts (written before the runs). */
export interface PlannedUnion {
  dir: string;
  datasets: Record<string, string>;
}

/** Everything a table needs. */
export interface TablePlan {
  table: TableName;
  paper: PaperTable;
  /** `real`: the datasets given; `embedded`: the synthetic stand-in (no real data given). */
  mode: "real" | "embedded";
  preset: TrainingPreset;
  title: string;
  runs: PlannedRun[];
  cells: PlannedCell[];
  unions: PlannedUnion[];
}

/** Options of {@linkcode planTable}. */
export interface PlanOptions {
  table: TableName | string;
  /** Roots of the real datasets given; none means the embedded stand-in. */
  roots: DataRoots;
  preset: TrainingPreset;
  /** Where union manifests go (default `.cache/reproduce`). */
  cacheDir?: string;
}

const RUNNER_STRATEGY: Readonly<Record<StrategyLabel, string>> = {
  "one-for-one": "per-class",
  sequential: "sequential",
  continual: "continual",
  joint: "joint",
  "joint+CCL": "joint",
};

/** The run-name part of a strategy: `joint+CCL` -> `joint-ccl`. */
export function strategySlug(strategy: StrategyLabel): string {
  return strategy === "joint+CCL" ? "joint-ccl" : strategy;
}

/** The name of the run of `method` under `strategy` on `target`. */
export function runName(method: string, strategy: StrategyLabel, target: RunTarget): string {
  return `${method}-${strategySlug(strategy)}-${target}`;
}

/**
 * Plans the runs of `options.table` for the roots given.
 *
 * @example
 * ```ts
 * import { planTable } from "./plan.ts";
 * import { paperPreset } from "./settings.ts";
 * const plan = planTable({
 *   table: "main",
 *   roots: { mvtec: "/data/mvtec" },
 *   preset: paperPreset("/w/wrn50.safetensors"),
 * });
 * // RD one-for-one, joint, joint+CCL and DeSTSeg joint, joint+CCL on MVTec AD.
 * if (plan.runs.length !== 5) throw new Error(plan.runs.map((r) => r.name).join());
 * ```
 */
export function planTable(options: PlanOptions): TablePlan {
  const paper = paperTable(options.table);
  const given = DATASET_KEYS.filter((key) => options.roots[key] !== undefined);
  return given.length === 0 ? planEmbedded(paper, options.preset) : planReal(paper, options, given);
}

function runConfig(
  preset: TrainingPreset,
  method: string,
  strategy: StrategyLabel,
  name: string,
  data: PartialConfig["data"],
): PartialConfig {
  return {
    ...presetConfig(preset, method, strategy === "joint+CCL"),
    name,
    // The runner's own validation names a strategy it does not know; the plan stays as the
    // paper's table asks.
    strategy: RUNNER_STRATEGY[strategy] as Strategy,
    data,
  };
}

function planReal(paper: PaperTable, options: PlanOptions, given: DatasetKey[]): TablePlan {
  const { preset, roots } = options;
  const cacheDir = options.cacheDir ?? join(".cache", "reproduce");
  const runs = new Map<string, PlannedRun>();
  const unions = new Map<string, PlannedUnion>();
  const classes = preset.classes ? { classes: preset.classes } : {};
  const addRun = (method: string, strategy: StrategyLabel, target: RunTarget, root: string) => {
    const name = runName(method, strategy, target);
    if (!runs.has(name)) {
      const config = runConfig(preset, method, strategy, name, { root, ...classes });
      runs.set(name, { name, method, strategy, target, config });
    }
    return name;
  };
  const cells: PlannedCell[] = paper.cells.map((cell) => {
    const oursOn = TARGET_TITLES[cell.target];
    const needs = datasetsOf(cell.target);
    const missing = needs.filter((key) => roots[key] === undefined);
    if (missing.length > 0) {
      return { ...cell, runs: [], oursOn, skipped: `needs --data ${missing.join(",")}` };
    }
    if (cell.target === "avg4") {
      const names = AVG4_DATASETS.map((key) =>
        addRun(cell.method, cell.strategy, key, roots[key]!)
      );
      return { ...cell, runs: names, oursOn };
    }
    if (isUnion(cell.target)) {
      const dir = join(cacheDir, cell.target);
      const datasets = Object.fromEntries(needs.map((key) => [key, roots[key]!]));
      unions.set(dir, { dir, datasets });
      return { ...cell, runs: [addRun(cell.method, cell.strategy, cell.target, dir)], oursOn };
    }
    const key = cell.target as DatasetKey;
    return { ...cell, runs: [addRun(cell.method, cell.strategy, key, roots[key]!)], oursOn };
  });
  const titles = given.map((key) => TARGET_TITLES[key]).join(", ");
  return {
    table: paper.name,
    paper,
    mode: "real",
    preset,
    title: `${paper.title}: ours on ${titles} (${preset.description}) next to the paper's`,
    runs: [...runs.values()],
    cells,
    unions: [...unions.values()],
  };
}

function planEmbedded(paper: PaperTable, preset: TrainingPreset): TablePlan {
  const runs = new Map<string, PlannedRun>();
  const cells: PlannedCell[] = [];
  const data = preset.classes ? { classes: preset.classes } : {};
  for (const cell of paper.cells) {
    // One stand-in per row: the row's first column the paper gives numbers for.
    const rowTaken = cells.some((c) => c.method === cell.method && c.strategy === cell.strategy);
    if (rowTaken || Object.keys(cell.paper).length === 0) continue;
    const name = runName(cell.method, cell.strategy, "synthetic");
    if (!runs.has(name)) {
      const config = runConfig(preset, cell.method, cell.strategy, name, data);
      runs.set(name, {
        name,
        method: cell.method,
        strategy: cell.strategy,
        target: "synthetic",
        config,
      });
    }
    cells.push({ ...cell, runs: [name], oursOn: "synthetic (stand-in)" });
  }
  return {
    table: paper.name,
    paper,
    mode: "embedded",
    preset,
    title: `NOT a reproduction (no real data given): ${paper.title}: the same pipeline on ` +
      `${preset.description}, next to the paper's numbers on real data`,
    runs: [...runs.values()],
    cells,
    unions: [],
  };
}

function isUnion(target: TargetKey): target is UnionKey {
  return target in UNION_TARGETS;
}

/** The datasets a column needs. */
export function datasetsOf(target: TargetKey): readonly DatasetKey[] {
  if (target === "avg4") return AVG4_DATASETS;
  if (isUnion(target)) return UNION_TARGETS[target];
  return [target];
}
