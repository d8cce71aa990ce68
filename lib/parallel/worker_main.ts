/**
 * The entry of every pool worker: imports the module a task names, calls its function, and
 * sends back the result, the task's console output (as progress lines) and its events.
 * Each worker is its own isolate, so it loads its own TF.js (own backend, own wasm heap).
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import type { TaskContext, TaskFunction } from "./types.ts";
import type { WorkerReply, WorkerRequest } from "./protocol.ts";
import { forceSingleThreadedWasm } from "../backend/wasm_threads.ts";

// Workers share the cores already: never also start wasm threads in each.
forceSingleThreadedWasm();

let workerIndex = 0;
let currentTask: string | undefined;
const controllers = new Map<string, AbortController>();

function post(message: WorkerReply): void {
  self.postMessage(message);
}

function format(args: unknown[]): string {
  return args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ");
}

// Task output becomes progress lines that the pool prefixes with the worker's number.
for (const method of ["log", "error", "warn", "info", "debug"] as const) {
  console[method] = (...args: unknown[]) =>
    post({ type: "line", taskId: currentTask, line: format(args) });
}

async function runTask(request: Extract<WorkerRequest, { type: "run" }>): Promise<void> {
  const { task } = request;
  const controller = new AbortController();
  controllers.set(task.id, controller);
  currentTask = task.id;
  try {
    const module = await import(task.module);
    const fn = module[task.fn] as TaskFunction | undefined;
    if (typeof fn !== "function") {
      throw new Error(`lib/parallel: ${task.module} exports no function "${task.fn}"`);
    }
    const context: TaskContext = {
      workerIndex,
      taskId: task.id,
      signal: controller.signal,
      emit: (data) => post({ type: "event", taskId: task.id, data }),
    };
    const result = await fn(task.args, context);
    post({ type: "done", taskId: task.id, result });
  } catch (error) {
    post({
      type: "error",
      taskId: task.id,
      message: error instanceof Error ? error.message : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
  } finally {
    controllers.delete(task.id);
    currentTask = undefined;
  }
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  if (message.type === "init") workerIndex = message.workerIndex;
  else if (message.type === "run") void runTask(message);
  else if (message.type === "abort") controllers.get(message.taskId)?.abort();
};
