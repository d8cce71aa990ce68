/**
 * The executors behind one interface: `local` (a process pool on this machine) and `slurm` (a
 * job array on a cluster).
 * @module
 */
import type { GridPlan, GridRun } from "./expand.ts";
import { type LocalOptions, localTrainArgs, localWorkers, runLocal } from "./local.ts";
import type { Observations } from "./run_state.ts";
import { observeSlurm, type SlurmOptions, submitSlurm } from "./slurm.ts";

/** The executors' names. */
export const EXECUTOR_NAMES = ["local", "slurm"] as const;

/** One of {@linkcode EXECUTOR_NAMES}. */
export type ExecutorName = typeof EXECUTOR_NAMES[number];

/** What a submit did, for the terminal. */
export interface SubmitReport {
  lines: string[];
  /** Runs that failed (local: exit code != 0; slurm: known only later). */
  failed: number;
}

/** Runs a grid's runs somewhere and says what it knows about them beyond the results folder. */
export interface Executor {
  readonly name: ExecutorName;
  /** Trains `runs` (local: until they end) or submits them (slurm); `dryRun` only writes. */
  submit(
    plan: GridPlan,
    runs: readonly GridRun[],
    options: { specPath: string; dryRun?: boolean },
  ): Promise<SubmitReport>;
  /** Queue and accounting states, with notes on what could not be read. */
  observe(plan: GridPlan): Promise<Observations & { notes: string[] }>;
}

/** The local executor. */
export function localExecutor(options: LocalOptions = {}): Executor {
  return {
    name: "local",
    async submit(plan, runs, { dryRun }) {
      if (dryRun) {
        const deno = options.deno ?? Deno.execPath();
        return {
          failed: 0,
          lines: [
            `would train ${runs.length} runs, ${
              localWorkers(plan, runs.length, options.workers)
            } at once:`,
            ...runs.map((run) => `  ${deno} ${localTrainArgs(plan, run).join(" ")}`),
          ],
        };
      }
      const outcomes = await runLocal(plan, runs, options);
      const failed = outcomes.filter((o) => o.exitCode !== 0);
      return {
        failed: failed.length,
        lines: [
          `${outcomes.length - failed.length} of ${outcomes.length} runs done`,
          ...failed.map((o) => `  failed: ${o.name} (exit ${o.exitCode}), log ${o.log}`),
        ],
      };
    },
    observe() {
      return Promise.resolve({ notes: [] });
    },
  };
}

/** The Slurm executor. */
export function slurmExecutor(options: SlurmOptions = {}): Executor {
  return {
    name: "slurm",
    async submit(plan, runs, { specPath, dryRun }) {
      const report = await submitSlurm(plan, runs, specPath, { ...options, dryRun });
      const lines = [
        `job array script: ${report.arrayScript}`,
        `collect script: ${report.collectScript}`,
      ];
      if (report.submission) {
        lines.push(
          `submitted ${runs.length} runs as job array ${report.submission.arrayJobId}` +
            ` (task i trains run i of ${plan.gridDir}/jobs.json); collect job ` +
            `${report.submission.collectJobId} runs after it`,
        );
      } else {
        lines.push(
          "dry run: nothing submitted; to submit:",
          ...report.commands.map((c) => `  ${c}`),
        );
      }
      return { failed: 0, lines };
    },
    observe(plan) {
      return observeSlurm(plan, options);
    },
  };
}
