/**
 * The `sbatch` scripts of a grid: one job array (one task per run, each training with
 * `deno task train --config <run>.json --resume`, so a requeued or preempted task continues from
 * its last checkpoint) and a collect job that runs after the whole array.
 * @module
 */
import { resolve } from "@std/path";
import type { GridPlan, GridRun } from "./expand.ts";
import { gridLayout } from "./layout.ts";
import type { SlurmSettings } from "./spec.ts";

/** Where the scripts run: the repository on shared storage and the Deno there. */
export interface ScriptContext {
  /** The repository on shared storage (absolute); tasks `cd` here. */
  repoDir: string;
  /** The Deno executable on the compute nodes. */
  deno: string;
}

/** Quotes `text` for bash (single quotes). */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function checkLine(what: string, text: string): string {
  if (/[\n\r]/.test(text)) throw new Error(`${what} must be one line, got ${JSON.stringify(text)}`);
  return text;
}

/** `#SBATCH` lines for the resources in `slurm`. */
export function resourceDirectives(slurm: SlurmSettings, collect = false): string[] {
  const lines: string[] = [];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined) {
      lines.push(`#SBATCH --${flag}=${checkLine(`slurm ${flag}`, String(value))}`);
    }
  };
  add("partition", slurm.partition);
  add("account", slurm.account);
  add("qos", slurm.qos);
  if (collect) {
    add("time", slurm.collectTime ?? "00:30:00");
    add("cpus-per-task", 1);
    return lines;
  }
  add("time", slurm.time);
  if (slurm.gpus) add("gres", `gpu:${slurm.gpuType ? `${slurm.gpuType}:` : ""}${slurm.gpus}`);
  add("cpus-per-task", slurm.cpusPerTask);
  add("mem", slurm.mem);
  for (const option of slurm.extra ?? []) {
    lines.push(`#SBATCH ${checkLine("slurm.extra", option)}`);
  }
  return lines;
}

/**
 * The job-array script that trains `runs` (task `i` trains `runs[i]`). Each task writes
 * `<gridDir>/state/<run>.json` when it starts and when it ends, and appends to
 * `<gridDir>/logs/slurm-<job>_<task>.out`.
 *
 * @example
 * ```ts
 * import { expandGrid } from "./expand.ts";
 * import { arrayJobScript } from "./slurm_script.ts";
 * const plan = expandGrid({ name: "g", axes: { seed: [0, 1] }, slurm: { gpus: 1 } });
 * const script = arrayJobScript(plan, plan.runs, { repoDir: "/shared/ccl-ad", deno: "deno" });
 * if (!script.includes("#SBATCH --array=0-1")) throw new Error(script);
 * if (!script.includes("#SBATCH --gres=gpu:1")) throw new Error(script);
 * ```
 */
export function arrayJobScript(
  plan: GridPlan,
  runs: readonly GridRun[],
  context: ScriptContext,
): string {
  if (runs.length === 0) throw new Error("a job array needs at least one run");
  const slurm = plan.spec.slurm ?? {};
  const layout = gridLayout(plan);
  const at = (path: string) => resolve(context.repoDir, path);
  const gridDir = at(plan.gridDir);
  if (/["\\]/.test(gridDir)) {
    throw new Error(`the grid folder ${gridDir} must not contain quotes or backslashes`);
  }
  const limit = slurm.maxParallel ? `%${slurm.maxParallel}` : "";
  return [
    "#!/bin/bash",
    `# Grid "${plan.spec.name}": ${runs.length} runs, one array task each.`,
    "# Written by `deno task grid submit`; change the grid spec and submit again rather than edit.",
    `#SBATCH --job-name=ccl-grid-${plan.spec.name}`,
    `#SBATCH --array=0-${runs.length - 1}${limit}`,
    `#SBATCH --output=${at(layout.logs)}/slurm-%A_%a.out`,
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    ...resourceDirectives(slurm),
    "set -uo pipefail",
    "export NO_COLOR=1",
    `cd ${shellQuote(context.repoDir)} || exit 1`,
    `runs=(${runs.map((run) => shellQuote(run.name)).join(" ")})`,
    "run=${runs[$SLURM_ARRAY_TASK_ID]}",
    `grid=${shellQuote(gridDir)}`,
    'job="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    'log="$grid/logs/slurm-$job.out"',
    'state="$grid/state/$run.json"',
    "restarts=${SLURM_RESTART_COUNT:-0}",
    "started=$(date -u +%FT%TZ)",
    "# The run's marker: written when the task starts and again with its exit code.",
    "marker() {",
    '  local end=""',
    '  if [[ $# -gt 0 ]]; then end=",\\"finishedAt\\":\\"$(date -u +%FT%TZ)\\",\\"exitCode\\":$1"; fi',
    '  printf \'{"executor":"slurm","jobId":"%s","log":"%s","host":"%s","restarts":%s,"startedAt":"%s"%s}\\n\' \\',
    '    "$job" "$log" "$(hostname)" "$restarts" "$started" "$end" >"$state.$$.tmp" && mv "$state.$$.tmp" "$state"',
    "}",
    'mkdir -p "$grid/state"',
    "marker",
    'echo "[grid] $run: task $job on $(hostname), restart $restarts, $started"',
    ...(slurm.setup ?? []).map((line) => checkLine("slurm.setup", line)),
    `${shellQuote(context.deno)} task train --config "$grid/configs/$run.json" --resume --results ${
      shellQuote(at(plan.resultsDir))
    }`,
    "code=$?",
    'marker "$code"',
    'echo "[grid] $run: exit code $code"',
    'exit "$code"',
    "",
  ].join("\n");
}

/**
 * The collect job: `deno task grid collect SPEC` once the array has ended (submitted with
 * `--dependency=afterany:<array job>`), so the table is ready when the last run is.
 */
export function collectJobScript(
  plan: GridPlan,
  specPath: string,
  context: ScriptContext,
): string {
  const slurm = plan.spec.slurm ?? {};
  const at = (path: string) => resolve(context.repoDir, path);
  return [
    "#!/bin/bash",
    `# Collects grid "${plan.spec.name}" after its job array. Written by \`deno task grid submit\`.`,
    `#SBATCH --job-name=ccl-grid-${plan.spec.name}-collect`,
    `#SBATCH --output=${at(gridLayout(plan).logs)}/collect-%j.out`,
    ...resourceDirectives(slurm, true),
    "set -uo pipefail",
    `cd ${shellQuote(context.repoDir)} || exit 1`,
    ...(slurm.setup ?? []).map((line) => checkLine("slurm.setup", line)),
    `${shellQuote(context.deno)} task grid collect ${shellQuote(at(specPath))} --results ${
      shellQuote(at(plan.resultsDir))
    }`,
    "",
  ].join("\n");
}
