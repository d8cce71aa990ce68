/**
 * Where a grid keeps its files: run configs, executor logs, per-run state markers, Slurm scripts,
 * job ids and the collected summary. Runs themselves live in `<resultsDir>/<run>/`.
 * @module
 */
import { join } from "@std/path";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import type { GridPlan, GridRun } from "./expand.ts";

/** The paths of a grid's files. */
export interface GridLayout {
  /** `<gridDir>/configs/<run>.json`: the config each run trains with. */
  config(run: string): string;
  /** `<gridDir>/state/<run>.json`: the executor's marker (started, exit code, log). */
  state(run: string): string;
  /** `<gridDir>/logs`: executor logs. */
  logs: string;
  /** The local executor's log of a run (appended on every attempt). */
  localLog(run: string): string;
  /** `<gridDir>/slurm`: generated scripts. */
  slurm: string;
  /** `<gridDir>/jobs.json`: Slurm submissions. */
  jobs: string;
  /** `<gridDir>/plan.json`: the runs and their axis values. */
  plan: string;
  /** The run's results folder. */
  runDir(run: string): string;
  /** `<resultsDir>/summary` (+ `.md`, `.json`; the plot under `plots/`). */
  summary: string;
}

/** The layout of `plan`'s files. */
export function gridLayout(plan: Pick<GridPlan, "gridDir" | "resultsDir">): GridLayout {
  const { gridDir, resultsDir } = plan;
  return {
    config: (run) => join(gridDir, "configs", `${run}.json`),
    state: (run) => join(gridDir, "state", `${run}.json`),
    logs: join(gridDir, "logs"),
    localLog: (run) => join(gridDir, "logs", `local-${run}.log`),
    slurm: join(gridDir, "slurm"),
    jobs: join(gridDir, "jobs.json"),
    plan: join(gridDir, "plan.json"),
    runDir: (run) => join(resultsDir, run),
    summary: join(resultsDir, "summary"),
  };
}

/** Writes each run's config file and `plan.json` (atomically). */
export async function writePlanFiles(plan: GridPlan, runs: readonly GridRun[] = plan.runs) {
  const layout = gridLayout(plan);
  for (const run of runs) await writeJsonAtomic(layout.config(run.name), run.config);
  await writeJsonAtomic(layout.plan, {
    grid: plan.spec.name,
    axes: plan.axes,
    runs: plan.runs.map(({ name, index, axes }) => ({ name, index, axes })),
  });
}
