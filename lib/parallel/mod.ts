/**
 * Parallel runs: a pool of Deno workers, each with its own TF.js, for independent units
 * (the demo's strategies, per-class units, grid cells, evaluations). Default size: one
 * worker per core; one worker runs tasks inline (the serial reference).
 *
 * @example
 * ```ts
 * import { runPool } from "./mod.ts";
 * const module = new URL("./selftest_tasks.ts", import.meta.url).href;
 * const lines: string[] = [];
 * const results = await runPool(
 *   [2, 3].map((n) => ({ id: `n${n}`, module, fn: "square", args: n })),
 *   { workers: 2, onProgress: (p) => lines.push(`[w${p.workerIndex}] ${p.taskId} ${p.line}`) },
 * );
 * if (results.join() !== "4,9") throw new Error(String(results));
 * ```
 * @module
 */
export * from "./types.ts";
export { defaultWorkerCount, parseWorkerCount, runPool, WorkerPool } from "./pool.ts";
