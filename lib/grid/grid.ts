/**
 * The grid's operations, as `deno task grid` runs them: plan (expand, check, write the run
 * configs), submit (to an executor, skipping what is done or queued), status and collect.
 * @module
 */
import { resolveDataset, syntheticCacheDir } from "../experiment/dataset.ts";
import { type GridSummary, summarizeGrid, type SummaryFiles, writeSummary } from "./collect.ts";
import type { Executor, SubmitReport } from "./executor.ts";
import { checkPlanInputs, expandGrid, type GridPlan } from "./expand.ts";
import { writePlanFiles } from "./layout.ts";
import { readRunStates, type RunStatus } from "./run_state.ts";
import { readGridSpec } from "./spec.ts";

/** Reads, expands and checks a grid spec file (datasets must exist). */
export async function loadGridPlan(
  specPath: string,
  options: { resultsDir?: string } = {},
): Promise<GridPlan> {
  const spec = await readGridSpec(specPath);
  const plan = expandGrid(spec, { ...options, source: specPath });
  await checkPlanInputs(plan);
  return plan;
}

/** The state of every run, with what `executor` knows (queue, accounting). */
export async function gridStatus(
  plan: GridPlan,
  executor?: Executor,
): Promise<{ statuses: RunStatus[]; notes: string[] }> {
  const observed = executor ? await executor.observe(plan) : { notes: [] };
  return { statuses: await readRunStates(plan, observed), notes: observed.notes };
}

/** Options of {@linkcode submitGrid}. */
export interface SubmitOptions {
  specPath: string;
  dryRun?: boolean;
  /** Progress lines (default `console.error`). */
  log?: (line: string) => void;
}

/**
 * Submits every run that is not done, running or queued: writes their configs, generates the
 * synthetic dataset once (so parallel tasks do not each make it), and hands them to `executor`.
 * Runs whose results were made by another config are an error (remove them first).
 */
export async function submitGrid(
  plan: GridPlan,
  executor: Executor,
  options: SubmitOptions,
): Promise<SubmitReport> {
  const say = options.log ?? ((line: string) => console.error(line));
  const { statuses } = await gridStatus(plan, executor);
  const stale = statuses.filter((s) => s.state === "stale");
  if (stale.length) {
    throw new Error(
      `grid ${plan.spec.name}: ${stale.length} runs have results from another config:\n  ` +
        stale.map((s) => `${s.name}: ${s.reason}`).join("\n  "),
    );
  }
  const todo = new Set(
    statuses.filter((s) => s.state === "failed" || s.state === "missing").map((s) => s.name),
  );
  const skipped = statuses.filter((s) => !todo.has(s.name));
  for (const state of ["done", "running", "pending"]) {
    const n = skipped.filter((s) => s.state === state).length;
    if (n) say(`[grid] ${plan.spec.name}: ${n} runs ${state}, not submitted again`);
  }
  const runs = plan.runs.filter((run) => todo.has(run.name));
  if (runs.length === 0) {
    return { failed: 0, lines: ["nothing to do: every run is done or queued"] };
  }
  await writePlanFiles(plan, runs);
  if (!options.dryRun) await prepareSyntheticData(plan, say);
  return await executor.submit(plan, runs, options);
}

/**
 * Generates each synthetic dataset the plan uses, once, before runs start in parallel (through
 * the runner's own `resolveDataset`, so it is exactly the dataset the runs will read).
 */
export async function prepareSyntheticData(
  plan: GridPlan,
  say: (line: string) => void = () => {},
): Promise<void> {
  const seen = new Set<string>();
  for (const run of plan.runs) {
    if (run.config.data.root) continue;
    const dir = syntheticCacheDir(run.config);
    if (seen.has(dir)) continue;
    seen.add(dir);
    const started = performance.now();
    await resolveDataset(run.config);
    say(
      `[grid] synthetic dataset ready in ${dir} (${
        ((performance.now() - started) / 1000).toFixed(1)
      } s)`,
    );
  }
}

/** Collects `plan`'s runs (with what `executor` knows of the queue) and writes the summary. */
export async function collectGrid(
  plan: GridPlan,
  executor?: Executor,
): Promise<{ summary: GridSummary; files: SummaryFiles }> {
  const { statuses, notes } = await gridStatus(plan, executor);
  const summary = summarizeGrid(plan, statuses, notes);
  return { summary, files: await writeSummary(plan, summary) };
}
