/**
 * The Slurm executor: writes the job-array and collect scripts, submits them with `sbatch`
 * (the collect job with `--dependency=afterany:<array>`), records the job ids in
 * `<gridDir>/jobs.json`, and reads the queue (`squeue`) and, where the cluster keeps accounting,
 * `sacct`.
 * @module
 */
import { join, resolve } from "@std/path";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import type { GridPlan, GridRun } from "./expand.ts";
import { gridLayout } from "./layout.ts";
import type { Observations, QueuedRun } from "./run_state.ts";
import { arrayJobScript, collectJobScript, type ScriptContext } from "./slurm_script.ts";

/** One `submit`: the array job, its collect job and which run each array task trains. */
export interface SlurmSubmission {
  arrayJobId: string;
  collectJobId?: string;
  /** Task `i` trains `runs[i]`. */
  runs: string[];
  script: string;
  submittedAt: string;
}

/** `<gridDir>/jobs.json`. */
export interface SlurmJobs {
  submissions: SlurmSubmission[];
}

/** Options of the Slurm executor's commands. */
export interface SlurmOptions {
  /** Environment of `sbatch`, `squeue`, ... (merged over this process's; e.g. `SLURM_CONF`). */
  env?: Record<string, string>;
  /** The repository on shared storage (default: the current directory). */
  repoDir?: string;
  /** The Deno executable on the compute nodes (default: the spec's, else the running one). */
  deno?: string;
}

/** The output of a finished command. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Slurm command; a command missing from PATH is an error that says how to get it. */
export async function slurmCommand(
  command: string,
  args: string[],
  env?: Record<string, string>,
): Promise<CommandOutput> {
  try {
    const out = await new Deno.Command(command, { args, env, stdin: "null" }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      const path = env?.PATH ?? Deno.env.get("PATH") ?? "";
      throw new Error(
        `${command} not found on PATH (${path}): the slurm executor needs Slurm's client ` +
          `commands (Debian: apt-get install slurm-client) on this machine; ` +
          `or run the grid with --executor local`,
      );
    }
    throw error;
  }
}

/** The script context for `plan` with `options`. */
export function scriptContext(plan: GridPlan, options: SlurmOptions = {}): ScriptContext {
  return {
    repoDir: resolve(options.repoDir ?? Deno.cwd()),
    deno: options.deno ?? plan.spec.slurm?.deno ?? Deno.execPath(),
  };
}

/** What {@linkcode submitSlurm} did. */
export interface SlurmSubmitReport {
  arrayScript: string;
  collectScript: string;
  /** Absent on a dry run. */
  submission?: SlurmSubmission;
  /** The commands run (or, on a dry run, to run). */
  commands: string[];
}

/**
 * Writes the scripts for `runs` and, unless `dryRun`, submits the array and the collect job
 * and appends the submission to `jobs.json`.
 */
export async function submitSlurm(
  plan: GridPlan,
  runs: readonly GridRun[],
  specPath: string,
  options: SlurmOptions & { dryRun?: boolean } = {},
): Promise<SlurmSubmitReport> {
  const layout = gridLayout(plan);
  const context = scriptContext(plan, options);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const arrayScript = join(layout.slurm, `train-${stamp}.sbatch`);
  const collectScript = join(layout.slurm, `collect-${stamp}.sbatch`);
  await writeTextAtomic(arrayScript, arrayJobScript(plan, runs, context));
  await writeTextAtomic(collectScript, collectJobScript(plan, specPath, context));
  await Deno.mkdir(layout.logs, { recursive: true });
  const arrayArgs = ["--parsable", arrayScript];
  const collectArgs = (id: string) => ["--parsable", `--dependency=afterany:${id}`, collectScript];
  if (options.dryRun) {
    return {
      arrayScript,
      collectScript,
      commands: [
        `sbatch ${arrayArgs.join(" ")}`,
        `sbatch ${collectArgs("<array job id>").join(" ")}`,
      ],
    };
  }
  const arrayJobId = await sbatch(arrayArgs, options.env);
  const collectJobId = await sbatch(collectArgs(arrayJobId), options.env);
  const submission: SlurmSubmission = {
    arrayJobId,
    collectJobId,
    runs: runs.map((run) => run.name),
    script: arrayScript,
    submittedAt: new Date().toISOString(),
  };
  const jobs = await readSlurmJobs(plan);
  jobs.submissions.push(submission);
  await writeJsonAtomic(layout.jobs, jobs);
  return {
    arrayScript,
    collectScript,
    submission,
    commands: [`sbatch ${arrayArgs.join(" ")}`, `sbatch ${collectArgs(arrayJobId).join(" ")}`],
  };
}

async function sbatch(args: string[], env?: Record<string, string>): Promise<string> {
  const out = await slurmCommand("sbatch", args, env);
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  const id = out.stdout.trim().split(";")[0];
  if (out.code !== 0 || !/^\d+$/.test(id)) {
    throw new Error(`sbatch ${args.join(" ")} failed (exit ${out.code}): ${out.stderr.trim()}`);
  }
  return id;
}

/** The grid's Slurm submissions (none if it was never submitted). */
export async function readSlurmJobs(plan: GridPlan): Promise<SlurmJobs> {
  const path = gridLayout(plan).jobs;
  try {
    return JSON.parse(await Deno.readTextFile(path)) as SlurmJobs;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { submissions: [] };
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** The latest submission's `<job>_<task>` of each submitted run. */
export function latestTaskIds(jobs: SlurmJobs): Map<string, string> {
  const ids = new Map<string, string>();
  for (const submission of jobs.submissions) {
    submission.runs.forEach((run, task) => ids.set(run, `${submission.arrayJobId}_${task}`));
  }
  return ids;
}

/**
 * Parses `squeue -h -r -o "%i|%T|%M|%r"` lines into the runs they train. Only the latest
 * submission of a run counts.
 *
 * @example
 * ```ts
 * import { parseQueue } from "./slurm.ts";
 * const jobs = { submissions: [{ arrayJobId: "7", runs: ["a", "b"], script: "", submittedAt: "" }] };
 * const queue = parseQueue("7_0|RUNNING|0:12|None\n7_1|PENDING|0:00|BeginTime\n", jobs);
 * if (queue.get("b")?.state !== "PENDING") throw new Error("b should be pending");
 * ```
 */
export function parseQueue(text: string, jobs: SlurmJobs): Map<string, QueuedRun> {
  const byTask = new Map([...latestTaskIds(jobs)].map(([run, id]) => [id, run]));
  const queue = new Map<string, QueuedRun>();
  for (const line of text.split("\n")) {
    const [jobId, state, time, reason] = line.trim().split("|");
    const run = byTask.get(jobId);
    if (!run || !state) continue;
    const detail = state === "PENDING"
      ? `(${reason})`
      : `${time}${reason && reason !== "None" ? ` (${reason})` : ""}`;
    queue.set(run, { jobId, state, detail });
  }
  return queue;
}

/**
 * What Slurm knows of the grid's jobs: the queue, and accounting states where `sacct` works.
 * `notes` says what could not be read (e.g. a cluster without accounting storage).
 */
export async function observeSlurm(
  plan: GridPlan,
  options: SlurmOptions = {},
): Promise<Observations & { notes: string[] }> {
  const jobs = await readSlurmJobs(plan);
  const notes: string[] = [];
  if (jobs.submissions.length === 0) return { notes };
  const submitted = latestTaskIds(jobs);
  const ids = [...new Set(jobs.submissions.map((s) => s.arrayJobId))].join(",");
  const name = `ccl-grid-${plan.spec.name}`;
  const squeue = await slurmCommand(
    "squeue",
    ["-h", "-r", "-n", name, "-o", "%i|%T|%M|%r"],
    options.env,
  );
  if (squeue.code !== 0) {
    throw new Error(`squeue failed (exit ${squeue.code}): ${squeue.stderr.trim()}`);
  }
  const queue = parseQueue(squeue.stdout, jobs);
  const accounting = new Map<string, string>();
  const sacct = await slurmCommand(
    "sacct",
    ["-n", "-P", "-X", "-j", ids, "-o", "JobID,State"],
    options.env,
  ).catch(() => undefined);
  if (sacct && sacct.code === 0) {
    const byTask = new Map([...submitted].map(([run, id]) => [id, run]));
    for (const line of sacct.stdout.split("\n")) {
      const [jobId, state] = line.trim().split("|");
      const run = byTask.get(jobId);
      if (run && state) accounting.set(run, state);
    }
  } else {
    notes.push(
      `sacct gave no accounting (${
        (sacct?.stderr ?? "not installed").trim() || `exit ${sacct?.code}`
      }); states come from squeue and the results folder`,
    );
  }
  return { queue, accounting, submitted, notes };
}
