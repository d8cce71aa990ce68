/**
 * `deno task grid`: experiment grids from a JSON spec, on this machine or on a Slurm cluster.
 * @module
 */
import { parseArgs } from "@std/cli";
import {
  collectGrid,
  type Executor,
  EXECUTOR_NAMES,
  type ExecutorName,
  gridStatus,
  loadGridPlan,
  localExecutor,
  readSlurmJobs,
  type RunStatus,
  slurmExecutor,
  type SlurmSettings,
  submitGrid,
  summaryMarkdown,
} from "../lib/grid/mod.ts";

const HELP = `deno task grid plan|submit|status|collect SPEC [flags]

  plan SPEC      list the runs the spec expands to and what is already done
  submit SPEC    train every run that is not done or queued (local: waits for them;
                 slurm: one job array, each task 'deno task train --config <run>.json --resume',
                 and a collect job that runs after it)
  status SPEC    each run's state (with squeue/sacct for a Slurm grid)
  collect SPEC   one table of every finished run (mean ± sd over seeds) plus the runs that
                 failed or are missing with the reason from their logs: <results>/summary.md,
                 summary.json and plots/summary.png

  --executor local|slurm   where runs train (submit: default local; others: slurm if the
                           grid was submitted to Slurm)
  --dry-run                submit: write the configs and scripts, print the commands, run nothing
  --workers N              local: runs at once (default: spec local.workers, else CPU count)
  --results DIR            parent folder of the runs (default: spec resultsDir,
                           else results/grid/<name>)
  --partition P --account A --qos Q --time T --gpus N --gpu-type T --cpus N --mem M
                           slurm: resources per task (override the spec's "slurm")
  --help                   this text

Example:
  deno task grid plan grids/rd_ccl_synthetic.json
  deno task grid submit grids/rd_ccl_synthetic.json --executor slurm --partition gpu --gpus 1
  deno task grid status grids/rd_ccl_synthetic.json
  deno task grid collect grids/rd_ccl_synthetic.json`;

const ACTIONS = ["plan", "submit", "status", "collect"];

const SLURM_FLAGS: Record<string, keyof SlurmSettings> = {
  partition: "partition",
  account: "account",
  qos: "qos",
  time: "time",
  gpus: "gpus",
  "gpu-type": "gpuType",
  cpus: "cpusPerTask",
  mem: "mem",
};
const NUMERIC_SLURM = new Set(["gpus", "cpus"]);

async function main(args: string[]): Promise<number> {
  const flags = parseArgs(args, {
    string: ["executor", "workers", "results", ...Object.keys(SLURM_FLAGS)],
    boolean: ["dry-run", "help"],
    unknown: (arg: string) => {
      if (arg.startsWith("-")) throw new Error(`unknown flag ${arg} (see --help)`);
      return true;
    },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const [action, specPath, ...rest] = flags._.map(String);
  if (!ACTIONS.includes(action) || !specPath || rest.length) {
    throw new Error(`usage: deno task grid ${ACTIONS.join("|")} SPEC [flags] (see --help)`);
  }
  const plan = await loadGridPlan(specPath, { resultsDir: flags.results });
  const slurm: SlurmSettings = { ...plan.spec.slurm };
  for (const [flag, key] of Object.entries(SLURM_FLAGS)) {
    const value = flags[flag] as string | undefined;
    if (value === undefined) continue;
    if (NUMERIC_SLURM.has(flag)) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) {
        throw new Error(`--${flag} expects an integer >= 0, got ${value}`);
      }
      (slurm as Record<string, unknown>)[key] = n;
    } else {
      (slurm as Record<string, unknown>)[key] = value;
    }
  }
  plan.spec = { ...plan.spec, slurm };
  const workers = flags.workers === undefined ? undefined : Number(flags.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers > 0)) {
    throw new Error(`--workers expects a positive integer, got ${flags.workers}`);
  }
  const requested = flags.executor as string | undefined;
  if (requested !== undefined && !(EXECUTOR_NAMES as readonly string[]).includes(requested)) {
    throw new Error(`--executor must be ${EXECUTOR_NAMES.join(" or ")}, got ${requested}`);
  }
  const submitted = (await readSlurmJobs(plan)).submissions.length > 0;
  const name =
    (requested ?? (action !== "submit" && submitted ? "slurm" : "local")) as ExecutorName;
  let executor: Executor = name === "slurm" ? slurmExecutor() : localExecutor({ workers });
  if (requested === undefined && name === "slurm") executor = tolerant(executor);

  if (action === "submit") {
    const report = await submitGrid(plan, executor, { specPath, dryRun: flags["dry-run"] });
    for (const line of report.lines) console.log(line);
    return report.failed > 0 ? 1 : 0;
  }
  if (action === "collect") {
    const { summary, files } = await collectGrid(plan, executor);
    console.log(summaryMarkdown(summary));
    console.error(
      `wrote ${files.markdown}, ${files.json}${
        files.plot ? `, ${files.plot}` : " (no plot: no run done)"
      }`,
    );
    return 0;
  }
  const { statuses, notes } = await gridStatus(plan, executor);
  console.log(statusTable(statuses, plan.runs.map((r) => r.name)));
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  console.log(
    `${plan.spec.name}: ${statuses.length} runs in ${plan.resultsDir}: ` +
      [...counts].map(([state, n]) => `${n} ${state}`).join(", "),
  );
  for (const note of notes) console.log(`note: ${note}`);
  return 0;
}

/**
 * An executor whose queue cannot be read (e.g. results copied off the cluster) still lets
 * status and collect work from the results folder, with a note.
 */
function tolerant(executor: Executor): Executor {
  return {
    ...executor,
    async observe(plan) {
      try {
        return await executor.observe(plan);
      } catch (error) {
        return { notes: [`could not query Slurm (${(error as Error).message})`] };
      }
    },
  };
}

function statusTable(statuses: readonly RunStatus[], order: string[]): string {
  const width = Math.max(4, ...order.map((name) => name.length));
  const lines = [`${"#".padStart(3)}  ${"run".padEnd(width)}  ${"state".padEnd(8)}  detail`];
  statuses.forEach((s, i) => {
    lines.push(
      `${String(i).padStart(3)}  ${s.name.padEnd(width)}  ${s.state.padEnd(8)}  ${
        [s.jobId, s.reason].filter(Boolean).join(": ")
      }`,
    );
  });
  return lines.join("\n");
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
