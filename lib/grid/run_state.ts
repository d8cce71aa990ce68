/**
 * The state of each run of a grid, from what is on disk (results, the executor's marker, its log)
 * and, for Slurm, what the queue says: done, stale, pending, running, failed or missing, with the
 * reason and the log tail of a run that did not finish.
 * @module
 */
import { join } from "@std/path";
import type { RunResult } from "../experiment/run_experiment.ts";
import type { GridPlan, GridRun } from "./expand.ts";
import { gridLayout } from "./layout.ts";

/** Where a run stands. */
export type RunState = "done" | "stale" | "pending" | "running" | "failed" | "missing";

/** What an executor writes to `<gridDir>/state/<run>.json` when a run starts and ends. */
export interface RunMarker {
  executor: "local" | "slurm";
  /** Slurm `<array job>_<task>`. */
  jobId?: string;
  /** The log of the latest attempt. */
  log: string;
  host?: string;
  /** The local executor's training process. */
  pid?: number;
  /** Slurm's restart count (requeues) of this attempt. */
  restarts?: number;
  startedAt: string;
  /** Absent while running, or when the attempt was killed (time limit, preemption, requeue). */
  finishedAt?: string;
  exitCode?: number;
}

/** A run in the scheduler's queue. */
export interface QueuedRun {
  jobId: string;
  /** Slurm state, e.g. `PENDING`, `RUNNING`, `COMPLETING`. */
  state: string;
  /** Time used, or the pending reason. */
  detail: string;
}

/** The state of one run. */
export interface RunStatus {
  name: string;
  state: RunState;
  /** Why a run is stale, failed or missing; the queue's word for pending and running ones. */
  reason?: string;
  /** The last lines of the log of a failed or interrupted run. */
  logTail?: string[];
  log?: string;
  jobId?: string;
  /** The results of a done run. */
  result?: RunResult;
}

/** What is known from outside the results folder. */
export interface Observations {
  /** Runs in the Slurm queue, by run name. */
  queue?: Map<string, QueuedRun>;
  /** Slurm accounting states (from `sacct`) of the latest job of each run. */
  accounting?: Map<string, string>;
  /** Runs that were submitted (named in a submission), so "not run yet" can say so. */
  submitted?: Map<string, string>;
}

const ANSI_COLOUR = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** Lines of a log shown for a failed run. */
export const LOG_TAIL_LINES = 15;

/** Reads the state of every run of `plan`. */
export async function readRunStates(
  plan: GridPlan,
  observed: Observations = {},
): Promise<RunStatus[]> {
  return await Promise.all(plan.runs.map((run) => readRunState(plan, run, observed)));
}

/** Reads the state of one run. */
export async function readRunState(
  plan: GridPlan,
  run: GridRun,
  observed: Observations = {},
): Promise<RunStatus> {
  const layout = gridLayout(plan);
  const name = run.name;
  const result = await readJson<RunResult>(join(layout.runDir(name), "metrics.json"));
  if (result) {
    const differences = configDifferences(result.config as unknown as Record<string, unknown>, {
      ...run.config,
    });
    if (differences.length === 0) return { name, state: "done", result };
    return {
      name,
      state: "stale",
      reason: `${join(layout.runDir(name), "metrics.json")} was made by another config ` +
        `(${differences.join("; ")}); remove that folder to re-run it`,
    };
  }
  const queued = observed.queue?.get(name);
  if (queued) {
    const state = queued.state === "PENDING" || queued.state === "REQUEUED" ? "pending" : "running";
    return { name, state, jobId: queued.jobId, reason: `${queued.state} ${queued.detail}`.trim() };
  }
  const marker = await readJson<RunMarker>(layout.state(name));
  if (!marker) {
    const job = observed.submitted?.get(name);
    return {
      name,
      state: "missing",
      reason: job ? `submitted as ${job} but never started` : "not run yet",
      ...(job ? { jobId: job } : {}),
    };
  }
  const logTail = await readLogTail(marker.log);
  const accounting = observed.accounting?.get(name);
  const jobId = marker.jobId;
  const common = { name, log: marker.log, logTail, ...(jobId ? { jobId } : {}) };
  if (marker.exitCode === undefined) {
    if (marker.executor === "local" && (await processAlive(marker))) {
      return { ...common, state: "running", reason: `local, started ${marker.startedAt}` };
    }
    const how = accounting ? `Slurm state ${accounting}` : "it was killed or is still running";
    return {
      ...common,
      state: "failed",
      reason: `started ${marker.startedAt}${marker.host ? ` on ${marker.host}` : ""} but did not ` +
        `finish (${how})${failureLine(logTail) ? `: ${failureLine(logTail)}` : ""}`,
    };
  }
  const exit = marker.exitCode === 0
    ? "exited 0 but wrote no metrics.json"
    : `exit code ${marker.exitCode}`;
  return {
    ...common,
    state: "failed",
    reason: `${exit}${accounting ? ` (Slurm state ${accounting})` : ""}` +
      `${failureLine(logTail) ? `: ${failureLine(logTail)}` : ""}`,
  };
}

/** The keys whose values differ between two configs, as `key: a vs b`. */
export function configDifferences(
  found: Record<string, unknown>,
  wanted: Record<string, unknown>,
): string[] {
  const keys = [...new Set([...Object.keys(found), ...Object.keys(wanted)])].sort();
  return keys.filter((key) => sortedJson(found[key]) !== sortedJson(wanted[key])).map((key) =>
    `${key}: ${sortedJson(found[key]) ?? "absent"} vs ${sortedJson(wanted[key]) ?? "absent"}`
  );
}

/** JSON with object keys sorted, so equal values give equal text. */
function sortedJson(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
  );
}

/** The last `lines` non-empty lines of a log file (empty if it cannot be read). */
export async function readLogTail(path: string, lines = LOG_TAIL_LINES): Promise<string[]> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch {
    return [];
  }
  try {
    const size = (await file.stat()).size;
    const length = Math.min(size, 64 * 1024);
    await file.seek(size - length, Deno.SeekMode.Start);
    const buffer = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const n = await file.read(buffer.subarray(read));
      if (n === null) break;
      read += n;
    }
    return new TextDecoder().decode(buffer.subarray(0, read))
      // Progress bars redraw with carriage returns; keep the last state of each line.
      // deno task colours its own lines even in files.
      .replace(ANSI_COLOUR, "")
      .split("\n").map((line) => line.split("\r").pop()!.trimEnd())
      .filter((line) => line.length > 0)
      .slice(-lines);
  } finally {
    file.close();
  }
}

/**
 * The line of a log tail that says why a run failed: the last error, cancellation or kill, else
 * the last line.
 *
 * @example
 * ```ts
 * import { failureLine } from "./run_state.ts";
 * const line = failureLine(["epoch 1/2", "error: data/x: no such folder", "Task train exited"]);
 * if (line !== "error: data/x: no such folder") throw new Error(line);
 * ```
 */
export function failureLine(tail: readonly string[]): string | undefined {
  const telling = /\berror\b|CANCELLED|Killed|out of memory|oom-kill|Uncaught|panicked/i;
  return [...tail].reverse().find((line) => telling.test(line)) ?? tail.at(-1);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

async function processAlive(marker: RunMarker): Promise<boolean> {
  if (!marker.pid || marker.host !== Deno.hostname() || Deno.build.os !== "linux") return false;
  return await Deno.stat(`/proc/${marker.pid}`).then(() => true, () => false);
}
