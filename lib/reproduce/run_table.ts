/**
 * Runs a table's plan through `runExperiment`, resumably: a run whose `metrics.json` exists
 * (with the same config) is not trained again, an interrupted run continues from its
 * checkpoints, and a run the runner cannot do (a method or strategy this build does not have)
 * is reported as such in the table instead of stopping the others. Writes
 * `results/reproduce/<table>/`: `table.md`, `summary.json`, `plan.json`, `side_by_side.*`
 * (chart) and `runs/<run>/` (each run's own results).
 * @module
 */
import { join } from "@std/path";
import { writeUnionManifest } from "../data/union.ts";
import { type ExperimentConfig, type PartialConfig, resolveConfig } from "../experiment/config.ts";
import { configChanges, configFingerprint } from "../experiment/fingerprint.ts";
import { formatDuration, type ProgressMode } from "../experiment/progress.ts";
import { runExperiment, type RunOptions, type RunResult } from "../experiment/run_experiment.ts";
import { type ChartFiles, writeChart } from "../plots/render.ts";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import { gitRevision } from "../util/git_revision.ts";
import type { TablePlan } from "./plan.ts";
import {
  type RunOutcome,
  sideBySide,
  sideBySideChart,
  sideBySideMarkdown,
  type SideBySideRow,
} from "./side_by_side.ts";

/** Options of {@linkcode reproduceTable}. */
export interface ReproduceOptions {
  /** Output folder (default `results/reproduce/<table>`, `…/<table>-embedded` for the stand-in). */
  resultsDir?: string;
  progress?: ProgressMode;
  /** One-line status messages (default `console.error`). */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Write the chart files (default true). */
  chart?: boolean;
  /** The runner (default `runExperiment`); tests pass a fake. */
  runner?: (config: PartialConfig, options: RunOptions) => Promise<RunResult>;
}

/** What {@linkcode reproduceTable} returns and writes to `summary.json`. */
export interface ReproduceSummary {
  table: string;
  mode: TablePlan["mode"];
  title: string;
  preset: TablePlan["preset"];
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** Per run: done (trained now or earlier) or unavailable, with the reason. */
  runs: Array<{ name: string; status: RunOutcome["status"]; reason?: string; resumed?: boolean }>;
  rows: SideBySideRow[];
  backend?: RunResult["backend"];
  git?: Awaited<ReturnType<typeof gitRevision>>;
  files: { table: string; summary: string; chart?: ChartFiles };
}

/** The default output folder of a plan. */
export function reproduceDirectory(plan: TablePlan): string {
  return join("results", "reproduce", plan.mode === "real" ? plan.table : `${plan.table}-embedded`);
}

/** Runs every run of `plan` not made yet and writes the side-by-side table and chart. */
export async function reproduceTable(
  plan: TablePlan,
  options: ReproduceOptions = {},
): Promise<ReproduceSummary> {
  const say = options.log ?? ((line: string) => console.error(line));
  const runner = options.runner ?? runExperiment;
  const outDir = options.resultsDir ?? reproduceDirectory(plan);
  const runsDir = join(outDir, "runs");
  const started = new Date();
  for (const union of plan.unions) await writeUnionManifest(union.dir, union.datasets);
  await writeJsonAtomic(join(outDir, "plan.json"), plan);

  const outcomes = new Map<string, RunOutcome>();
  let backend: RunResult["backend"] | undefined;
  for (const [index, run] of plan.runs.entries()) {
    const prefix = `[reproduce ${plan.table} ${index + 1}/${plan.runs.length}] ${run.name}`;
    let config: ExperimentConfig;
    try {
      config = resolveConfig(run.config);
    } catch (error) {
      const reason = `not available in this build: ${firstLine(error)}`;
      say(`${prefix}: ${reason}`);
      outcomes.set(run.name, { status: "unavailable", reason });
      continue;
    }
    const finished = await finishedRun(join(runsDir, run.name), config);
    if (finished) {
      say(`${prefix}: done earlier, read from ${join(runsDir, run.name, "metrics.json")}`);
      backend ??= finished.backend;
      outcomes.set(run.name, { status: "done", mean: finished.mean, resumed: true });
      continue;
    }
    say(`${prefix}: training`);
    const result = await runner(run.config, {
      resultsDir: runsDir,
      resume: true,
      progress: options.progress,
      signal: options.signal,
      log: say,
    });
    backend ??= result.backend;
    outcomes.set(run.name, { status: "done", mean: result.mean, resumed: false });
  }

  const rows = sideBySide(plan, outcomes);
  const finishedAt = new Date();
  const seconds = (finishedAt.getTime() - started.getTime()) / 1000;
  const tablePath = join(outDir, "table.md");
  const summaryPath = join(outDir, "summary.json");
  let chart: ChartFiles | undefined;
  if (options.chart !== false) {
    chart = await writeChart(sideBySideChart(plan, rows), join(outDir, "side_by_side"));
  }
  const summary: ReproduceSummary = {
    table: plan.table,
    mode: plan.mode,
    title: plan.title,
    preset: plan.preset,
    startedAt: started.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds,
    runs: plan.runs.map((run) => {
      const outcome = outcomes.get(run.name)!;
      return outcome.status === "done"
        ? { name: run.name, status: outcome.status, resumed: outcome.resumed }
        : { name: run.name, status: outcome.status, reason: outcome.reason };
    }),
    rows,
    backend,
    git: await gitRevision(),
    files: { table: tablePath, summary: summaryPath, ...(chart ? { chart } : {}) },
  };
  await writeTextAtomic(tablePath, tableDocument(plan, rows, summary));
  await writeJsonAtomic(summaryPath, summary);
  return summary;
}

/** The whole `table.md`: title, how it was made, the table. */
export function tableDocument(
  plan: TablePlan,
  rows: readonly SideBySideRow[],
  summary: Pick<ReproduceSummary, "startedAt" | "finishedAt" | "seconds" | "backend" | "runs">,
): string {
  const done = summary.runs.filter((r) => r.status === "done").length;
  const lines = [
    `# ${plan.title}`,
    "",
    plan.mode === "embedded"
      ? "**This is not a reproduction of the paper.** No real dataset was given, so the paper's " +
        "pipeline ran on the embedded synthetic dataset at small scale; the paper's column is " +
        "its number on real data, shown for reference only."
      : `Ours: ${plan.preset.description}. Paper: ${plan.paper.source}.`,
    "",
    `Preset ${plan.preset.name}, seed ${plan.preset.seed}, backend ` +
    `${summary.backend?.name ?? "n/a"}; ${done} of ${summary.runs.length} runs made; ` +
    `${formatDuration(summary.seconds * 1000)} this time (${summary.startedAt} to ` +
    `${summary.finishedAt}); each run's config, log and metrics are in runs/<name>/. ` +
    `Values: % , mean over classes (the average column: mean over its datasets); ` +
    `Δ = ours − paper; n/a: the paper's number is not in SPEC.md; —: not made (see note).`,
    "",
    sideBySideMarkdown(plan, rows),
  ];
  return lines.join("\n");
}

/** The results of a finished run in `runDir` with this config, or undefined. */
async function finishedRun(
  runDir: string,
  config: ExperimentConfig,
): Promise<RunResult | undefined> {
  let result: RunResult;
  try {
    result = JSON.parse(await Deno.readTextFile(join(runDir, "metrics.json")));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${join(runDir, "metrics.json")}: cannot read (${(e as Error).message})`);
  }
  if (await configFingerprint(resolveConfig(result.config)) !== await configFingerprint(config)) {
    throw new Error(
      `${runDir} holds a finished run of another config (${
        configChanges(resolveConfig(result.config), config).join("; ")
      }): remove that folder, or choose another --results folder`,
    );
  }
  return result;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "").slice(0, 2).join(" ");
}
