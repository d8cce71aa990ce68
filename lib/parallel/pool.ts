/**
 * A pool of Deno workers for independent units of work (runs, per-class units, grid cells,
 * evaluations). Each worker is a separate isolate with its own TF.js, so units cannot share
 * state: with per-unit seeds, a unit gives the same numbers in any worker as inline.
 *
 * Workers rather than subprocesses: both start in about 0.5 s here (TF.js + wasm), but
 * workers exchange results as structured clones (typed arrays without JSON) and share the
 * parent's permissions and module cache.
 * @module
 */
import type { WorkerReply, WorkerRequest } from "./protocol.ts";
import type {
  PoolEvent,
  PoolOptions,
  PoolProgress,
  PoolTask,
  TaskContext,
  TaskFunction,
} from "./types.ts";

/** The default pool size: the number of cores. */
export function defaultWorkerCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** Parses a `--workers` value: a positive integer, or "auto"/undefined for the core count. */
export function parseWorkerCount(value: unknown): number {
  if (value === undefined || value === "auto") return defaultWorkerCount();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--workers must be a positive integer or "auto", got ${JSON.stringify(value)}`);
  }
  return n;
}

function printProgress({ workerIndex, taskId, line }: PoolProgress): void {
  console.error(`[w${workerIndex}${taskId ? ` ${taskId}` : ""}] ${line}`);
}

/** Receives the values one task sends with `context.emit`. */
export type TaskEventHandler = (data: unknown) => void | Promise<void>;

interface Pending {
  task: PoolTask;
  onEvent?: TaskEventHandler;
  order: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  running?: Pending;
}

/** Calls a task's event handler; a failing handler is reported, never an unhandled rejection. */
function deliver(handler: TaskEventHandler | undefined, data: unknown, task: PoolTask): void {
  if (handler === undefined) return;
  Promise.resolve().then(() => handler(data)).catch((error) =>
    console.error(`lib/parallel: event handler of task ${task.id} failed: ${error}`)
  );
}

function taskError(task: PoolTask, workerIndex: number, message: string, stack?: string): Error {
  const error = new Error(`task ${task.id} (worker ${workerIndex}): ${message}`);
  if (stack) error.stack = `${error.message}\n--- in the worker ---\n${stack}`;
  return error;
}

/**
 * A fixed-size pool. {@linkcode WorkerPool.run} queues a task and resolves with its result;
 * waiting tasks start heaviest first (`weight`), then in submission order. With one worker,
 * tasks run inline on the calling thread, one at a time.
 *
 * @example
 * ```ts ignore
 * const pool = new WorkerPool({ workers: 2 });
 * try {
 *   const [a, b] = await Promise.all([
 *     pool.run({ id: "a", module: new URL("./unit.ts", import.meta.url).href, fn: "train", args: 1 }),
 *     pool.run({ id: "b", module: new URL("./unit.ts", import.meta.url).href, fn: "train", args: 2 }),
 *   ]);
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class WorkerPool {
  /** Number of workers (1: inline). */
  readonly size: number;
  readonly #onProgress: (progress: PoolProgress) => void;
  readonly #onEvent?: (event: PoolEvent) => void | Promise<void>;
  readonly #signal?: AbortSignal;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #submitted = 0;
  #closed = false;
  #inlineChain: Promise<unknown> = Promise.resolve();

  constructor(options: PoolOptions = {}) {
    this.size = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(this.size) || this.size < 1) {
      throw new Error(`lib/parallel: workers must be a positive integer, got ${this.size}`);
    }
    this.#onProgress = options.onProgress ?? printProgress;
    this.#onEvent = options.onEvent;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", () => this.#abortAll(), { once: true });
  }

  /**
   * Runs `task` on the next free worker; resolves with what its function returned. `onEvent`
   * gets this task's `context.emit` values (the pool's `onEvent` gets every task's).
   */
  run<R>(task: PoolTask, onEvent?: TaskEventHandler): Promise<R> {
    if (this.#closed) return Promise.reject(new Error("lib/parallel: the pool is closed"));
    if (this.#signal?.aborted) {
      return Promise.reject(new Error(`lib/parallel: aborted before task ${task.id} started`));
    }
    if (this.size === 1) return this.#runInline<R>(task, onEvent);
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({
        task,
        onEvent,
        order: this.#submitted++,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#dispatch();
    });
  }

  /** Terminates the workers; tasks still waiting are rejected. */
  close(): void {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) {
      pending.reject(new Error(`lib/parallel: pool closed before task ${pending.task.id} ran`));
    }
    for (const slot of this.#slots) {
      slot.running?.reject(
        new Error(`lib/parallel: pool closed while ${slot.running.task.id} ran`),
      );
      slot.worker.terminate();
    }
    this.#slots.length = 0;
  }

  #runInline<R>(task: PoolTask, onEvent?: TaskEventHandler): Promise<R> {
    const result = this.#inlineChain.then(async () => {
      const module = await import(task.module);
      const fn = module[task.fn] as TaskFunction | undefined;
      if (typeof fn !== "function") {
        throw new Error(`lib/parallel: ${task.module} exports no function "${task.fn}"`);
      }
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      this.#signal?.addEventListener("abort", onAbort);
      const context: TaskContext = {
        workerIndex: 0,
        taskId: task.id,
        signal: controller.signal,
        emit: (data) => {
          deliver(onEvent, data, task);
          void this.#onEvent?.({ workerIndex: 0, taskId: task.id, data });
        },
      };
      try {
        return await fn(task.args, context) as R;
      } finally {
        this.#signal?.removeEventListener("abort", onAbort);
      }
    });
    this.#inlineChain = result.catch(() => {});
    return result;
  }

  #next(): Pending | undefined {
    if (this.#queue.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.#queue.length; i++) {
      const a = this.#queue[i], b = this.#queue[best];
      const wa = a.task.weight ?? 0, wb = b.task.weight ?? 0;
      if (wa > wb || (wa === wb && a.order < b.order)) best = i;
    }
    return this.#queue.splice(best, 1)[0];
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.running === undefined);
      if (slot === undefined && this.#slots.length < this.size) slot = this.#spawn();
      if (slot === undefined) return;
      const pending = this.#next()!;
      slot.running = pending;
      this.#onProgress({ workerIndex: slot.index, taskId: pending.task.id, line: "started" });
      this.#send(slot, { type: "run", task: pending.task });
    }
  }

  #send(slot: Slot, message: WorkerRequest): void {
    slot.worker.postMessage(message);
  }

  #spawn(): Slot {
    const index = this.#slots.length;
    const worker = new Worker(new URL("./worker_main.ts", import.meta.url), { type: "module" });
    const slot: Slot = { index, worker };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#receive(slot, event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#crashed(slot, event.message);
    };
    worker.onmessageerror = () => this.#crashed(slot, "a message could not be deserialised");
    this.#slots.push(slot);
    this.#send(slot, { type: "init", workerIndex: index });
    return slot;
  }

  /** A worker died outside a task's own error handling: fail its task, replace the worker. */
  #crashed(slot: Slot, message: string): void {
    const pending = slot.running;
    slot.worker.terminate();
    const replacement = new Worker(new URL("./worker_main.ts", import.meta.url), {
      type: "module",
    });
    slot.worker = replacement;
    slot.running = undefined;
    replacement.onmessage = (event: MessageEvent<WorkerReply>) => this.#receive(slot, event.data);
    replacement.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#crashed(slot, event.message);
    };
    this.#send(slot, { type: "init", workerIndex: slot.index });
    if (pending) pending.reject(taskError(pending.task, slot.index, `worker crashed: ${message}`));
    if (!this.#closed) this.#dispatch();
  }

  #receive(slot: Slot, message: WorkerReply): void {
    const pending = slot.running;
    if (message.type === "line") {
      this.#onProgress({ workerIndex: slot.index, taskId: message.taskId, line: message.line });
      return;
    }
    if (message.type === "event") {
      if (pending?.task.id === message.taskId) deliver(pending.onEvent, message.data, pending.task);
      void this.#onEvent?.({ workerIndex: slot.index, taskId: message.taskId, data: message.data });
      return;
    }
    if (pending === undefined || pending.task.id !== message.taskId) return;
    slot.running = undefined;
    if (message.type === "done") {
      this.#onProgress({ workerIndex: slot.index, taskId: message.taskId, line: "done" });
      pending.resolve(message.result);
    } else {
      pending.reject(taskError(pending.task, slot.index, message.message, message.stack));
    }
    if (!this.#closed) this.#dispatch();
  }

  #abortAll(): void {
    for (const slot of this.#slots) {
      if (slot.running) this.#send(slot, { type: "abort", taskId: slot.running.task.id });
    }
    for (const pending of this.#queue.splice(0)) {
      pending.reject(new Error(`lib/parallel: aborted before task ${pending.task.id} started`));
    }
  }
}

/**
 * Runs every task on a pool of `options.workers` (default: one per core) and returns the
 * results in task order. Every task runs to the end even when another fails; then the first
 * failure is thrown, naming all failed tasks.
 *
 * @example
 * ```ts
 * import { runPool } from "./pool.ts";
 * const module = new URL("./selftest_tasks.ts", import.meta.url).href;
 * const results = await runPool(
 *   [3, 4].map((n) => ({ id: `square-${n}`, module, fn: "square", args: n })),
 *   { workers: 2, onProgress: () => {} },
 * );
 * if (results.join() !== "9,16") throw new Error(String(results));
 * ```
 */
export async function runPool<R = unknown>(
  tasks: readonly PoolTask[],
  options: PoolOptions = {},
): Promise<R[]> {
  const ids = new Set<string>();
  for (const task of tasks) {
    if (ids.has(task.id)) throw new Error(`lib/parallel: task id ${task.id} appears twice`);
    ids.add(task.id);
  }
  const pool = new WorkerPool({
    ...options,
    workers: Math.min(
      options.workers ?? defaultWorkerCount(),
      Math.max(1, tasks.length),
    ),
  });
  try {
    const settled = await Promise.allSettled(tasks.map((task) => pool.run<R>(task)));
    const failed = settled.flatMap((s, i) => s.status === "rejected" ? [{ s, i }] : []);
    if (failed.length > 0) {
      const first = (failed[0].s as PromiseRejectedResult).reason as Error;
      if (failed.length > 1) {
        first.message += ` (${failed.length} tasks failed: ${
          failed.map(({ i }) => tasks[i].id).join(", ")
        })`;
      }
      throw first;
    }
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  } finally {
    pool.close();
  }
}
