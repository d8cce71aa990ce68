/**
 * Types of the worker pool: tasks, what a task function gets, progress events.
 * @module
 */

/**
 * One independent unit of work: an exported function of a module, called with `args`.
 * `args` and the result cross a worker boundary, so both must be structured-cloneable
 * (plain data, typed arrays, Maps; no functions, tensors or class instances with methods).
 */
export interface PoolTask<A = unknown> {
  /** Unique within one pool run; shown in progress lines. */
  id: string;
  /** Absolute URL of the module (`new URL("./x.ts", import.meta.url).href`). */
  module: string;
  /** Name of the exported {@linkcode TaskFunction}. */
  fn: string;
  args: A;
  /** Larger runs first when several tasks wait (e.g. images x epochs); default 0, FIFO. */
  weight?: number;
}

/** What a task function receives besides its arguments. */
export interface TaskContext {
  /** 0-based index of the worker (0 when run inline). */
  workerIndex: number;
  taskId: string;
  /** Fires when the pool is aborted. */
  signal: AbortSignal;
  /** Sends a structured-cloneable value to the pool's `onEvent` (epoch logs and the like). */
  emit(data: unknown): void;
}

/** A function a task names: runs in a worker with its own TF.js instance. */
export type TaskFunction<A = unknown, R = unknown> = (
  args: A,
  context: TaskContext,
) => R | Promise<R>;

/** A line of progress, from a task's output (console) or the pool itself. */
export interface PoolProgress {
  workerIndex: number;
  /** The task running on that worker, if any. */
  taskId?: string;
  /** The line as printed in the worker (without the worker prefix). */
  line: string;
}

/** A value a task sent with {@linkcode TaskContext.emit}. */
export interface PoolEvent {
  workerIndex: number;
  taskId: string;
  data: unknown;
}

/** Options of `runPool` and `WorkerPool`. */
export interface PoolOptions {
  /**
   * Number of workers; default the number of cores (`navigator.hardwareConcurrency`). 1 runs
   * every task inline on the calling thread, one after the other (the serial reference).
   */
  workers?: number;
  /**
   * Each line a task prints (console.log/error in its worker) and each task start and end.
   * Default: printed to stderr as `[w<i>] line`.
   */
  onProgress?: (progress: PoolProgress) => void;
  /** Values tasks send with `context.emit`. */
  onEvent?: (event: PoolEvent) => void | Promise<void>;
  /** Aborts running tasks (their `context.signal`) and rejects waiting ones. */
  signal?: AbortSignal;
}
