/**
 * Messages between the pool and its workers.
 * @module
 */
import type { PoolTask } from "./types.ts";

/** Pool -> worker. */
export type WorkerRequest =
  | { type: "init"; workerIndex: number }
  | { type: "run"; task: PoolTask }
  | { type: "abort"; taskId: string };

/** Worker -> pool. */
export type WorkerReply =
  | { type: "line"; taskId?: string; line: string }
  | { type: "event"; taskId: string; data: unknown }
  | { type: "done"; taskId: string; result: unknown }
  | { type: "error"; taskId: string; message: string; stack?: string };
