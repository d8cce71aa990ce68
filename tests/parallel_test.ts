import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { parseWorkerCount, type PoolProgress, runPool } from "../lib/parallel/mod.ts";

const module = new URL("../lib/parallel/selftest_tasks.ts", import.meta.url).href;
const fitTasks = [1, 2, 3].map((seed) => ({
  id: `fit-${seed}`,
  module,
  fn: "seededFit",
  args: { seed, steps: 4 },
}));

type Fit = { weights: Float32Array; losses: number[] };

Deno.test("pool: two workers give exactly the serial (inline) results, with per-worker progress", async () => {
  const serial = await runPool<Fit>(fitTasks, { workers: 1 });
  const lines: PoolProgress[] = [];
  const events: unknown[] = [];
  const parallel = await runPool<Fit>(fitTasks, {
    workers: 2,
    onProgress: (p) => lines.push(p),
    onEvent: (e) => void events.push(e.data),
  });
  assertEquals(parallel.length, 3);
  parallel.forEach((result, i) => {
    assertEquals(result.losses, serial[i].losses, `task ${i} losses`);
    assertEquals([...result.weights], [...serial[i].weights], `task ${i} weights`);
  });
  assertEquals(new Set(lines.map((l) => l.workerIndex)), new Set([0, 1]));
  assert(lines.some((l) => l.taskId === "fit-2" && l.line.includes("step 4/4")));
  assertEquals(events.length, 12);
});

Deno.test("pool: a failing task is reported by id; the others still finish", async () => {
  const finished: string[] = [];
  await assertRejects(
    () =>
      runPool([
        { id: "ok", module, fn: "square", args: 3 },
        { id: "broken", module, fn: "fail", args: "no such class 'x'" },
        { id: "missing", module, fn: "nothing", args: 0 },
      ], {
        workers: 2,
        onProgress: (p) => p.line === "done" && finished.push(p.taskId!),
      }),
    Error,
    "task broken (worker",
  );
  assertEquals(finished, ["ok"]);
  await assertRejects(
    () =>
      runPool([{ id: "a", module, fn: "square", args: 1 }, {
        id: "a",
        module,
        fn: "square",
        args: 2,
      }]),
    Error,
    "appears twice",
  );
});

Deno.test("pool: --workers parsing", () => {
  assertEquals(parseWorkerCount("3"), 3);
  assert(parseWorkerCount(undefined) >= 1);
  assert(parseWorkerCount("auto") >= 1);
  assertThrows(() => parseWorkerCount("0"), Error, "--workers");
  assertThrows(() => parseWorkerCount("two"), Error, "--workers");
});

Deno.test("pool: waiting tasks start heaviest first", async () => {
  const started: string[] = [];
  const tasks = [
    { id: "busy-a", module, fn: "sleep", args: 400 },
    { id: "busy-b", module, fn: "sleep", args: 400 },
    { id: "light", module, fn: "sleep", args: 1, weight: 1 },
    { id: "heavy", module, fn: "sleep", args: 1, weight: 3 },
    { id: "middle", module, fn: "sleep", args: 1, weight: 2 },
  ];
  await runPool(tasks, {
    workers: 2,
    onProgress: (p) => p.line === "started" && started.push(p.taskId!),
  });
  assertEquals(started.slice(2), ["heavy", "middle", "light"]);
});

Deno.test("backend: concurrent selections (the demo's runs) all get the same backend", async () => {
  const probe = new URL("./_concurrent_backend_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", probe],
    env: { CCL_BACKEND: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const names: string[] = JSON.parse(
    new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!,
  );
  assertEquals(names.length, 3);
  assertEquals(new Set(names).size, 1, `got ${names}`);
});
