/**
 * The local executor: a pool of `deno run -A scripts/train.ts --config <run>.json --resume`
 * processes on this machine, each logging to `<gridDir>/logs/local-<run>.log`.
 * @module
 */
import { dirname, fromFileUrl } from "@std/path";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import type { GridPlan, GridRun } from "./expand.ts";
import { gridLayout } from "./layout.ts";
import { mapConcurrent } from "./pool.ts";
import type { RunMarker } from "./run_state.ts";

/** Options of {@linkcode runLocal}. */
export interface LocalOptions {
  /** Runs at once (default: the spec's `local.workers`, else the CPU count). */
  workers?: number;
  /** The Deno executable (default: the running one). */
  deno?: string;
  /** One-line progress messages (default `console.error`). */
  log?: (line: string) => void;
  /** Stops the pool: running trainings get SIGTERM and can be resumed later. */
  signal?: AbortSignal;
}

/** How one local run ended. */
export interface LocalOutcome {
  name: string;
  exitCode: number;
  seconds: number;
  log: string;
}

const TRAIN_SCRIPT = fromFileUrl(new URL("../../scripts/train.ts", import.meta.url));

/** The command line that trains `run` (after the Deno executable). */
export function localTrainArgs(plan: GridPlan, run: GridRun): string[] {
  return [
    "run",
    "-A",
    TRAIN_SCRIPT,
    "--config",
    gridLayout(plan).config(run.name),
    "--resume",
    "--results",
    plan.resultsDir,
  ];
}

/** The number of local workers for `runs` runs. */
export function localWorkers(plan: GridPlan, runs: number, requested?: number): number {
  const wanted = requested ?? plan.spec.local?.workers ?? navigator.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(wanted, runs));
}

/**
 * Trains `runs` (their config files must be written) with at most `workers` at once; returns
 * each run's exit code. A failing run does not stop the others.
 */
export async function runLocal(
  plan: GridPlan,
  runs: readonly GridRun[],
  options: LocalOptions = {},
): Promise<LocalOutcome[]> {
  const say = options.log ?? ((line: string) => console.error(line));
  const workers = localWorkers(plan, runs.length, options.workers);
  const deno = options.deno ?? Deno.execPath();
  let finished = 0;
  say(`[grid] ${plan.spec.name}: ${runs.length} runs, ${workers} at once`);
  return await mapConcurrent(runs, workers, async (run) => {
    const outcome = await trainOne(plan, run, deno, options.signal);
    finished++;
    say(
      `[grid] ${finished}/${runs.length} ${run.name}: ` +
        `${
          outcome.exitCode === 0 ? "done" : `failed (exit ${outcome.exitCode}), log ${outcome.log}`
        }` +
        ` in ${outcome.seconds.toFixed(0)} s`,
    );
    return outcome;
  });
}

async function trainOne(
  plan: GridPlan,
  run: GridRun,
  deno: string,
  signal?: AbortSignal,
): Promise<LocalOutcome> {
  const layout = gridLayout(plan);
  const log = layout.localLog(run.name);
  await Deno.mkdir(dirname(log), { recursive: true });
  const file = await Deno.open(log, { append: true, create: true });
  const started = performance.now();
  const marker: RunMarker = {
    executor: "local",
    log,
    host: Deno.hostname(),
    startedAt: new Date().toISOString(),
  };
  try {
    const encoder = new TextEncoder();
    await file.write(encoder.encode(`[grid] ${run.name}: local, ${marker.startedAt}\n`));
    if (signal?.aborted) throw signal.reason;
    const child = new Deno.Command(deno, {
      args: localTrainArgs(plan, run),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stop = () => child.kill("SIGTERM");
    signal?.addEventListener("abort", stop);
    await writeJsonAtomic(layout.state(run.name), { ...marker, pid: child.pid });
    const copy = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await file.write(chunk);
    };
    const [status] = await Promise.all([child.status, copy(child.stdout), copy(child.stderr)]);
    signal?.removeEventListener("abort", stop);
    const exitCode = status.code;
    await file.write(encoder.encode(`[grid] ${run.name}: exit code ${exitCode}\n`));
    await writeJsonAtomic(layout.state(run.name), {
      ...marker,
      finishedAt: new Date().toISOString(),
      exitCode,
    });
    return { name: run.name, exitCode, seconds: (performance.now() - started) / 1000, log };
  } finally {
    file.close();
  }
}
