import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  autoThreadCount,
  checkMainScript,
  parseWasmThreads,
  patchWorkerScript,
} from "../lib/backend/wasm_threads.ts";

async function probe(threads: string) {
  const probeFile = new URL("./_wasm_threads_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", probeFile],
    env: { CCL_WASM_THREADS: threads },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(text.trim().split("\n").at(-1)!) as {
    threads: number;
    losses: number[];
    weights: number[];
  };
}

Deno.test("threaded wasm: 2 threads start under Deno and give bit-identical training", async () => {
  const one = await probe("1");
  const two = await probe("2");
  assertEquals(one.threads, 1);
  assertEquals(two.threads, 2);
  assertEquals(two.losses, one.losses);
  assertEquals(two.weights, one.weights);
});

Deno.test("threaded wasm: settings and script checks", () => {
  assertEquals(parseWasmThreads(undefined), 1);
  assertEquals(parseWasmThreads("2"), 2);
  assertEquals(parseWasmThreads("auto"), "auto");
  assertThrows(() => parseWasmThreads("0"), Error, "CCL_WASM_THREADS");
  assertThrows(() => parseWasmThreads("many"), Error, "CCL_WASM_THREADS");
  assertEquals(autoThreadCount(2, 0.1).threads, 2);
  assertEquals(autoThreadCount(2, 1.5).threads, 1);
  assertEquals(autoThreadCount(1, 0).threads, 1);
  assertThrows(() => patchWorkerScript("var Module={};", "/x.js"), Error, "not available");
  assertThrows(() => checkMainScript("f(require$$9)"), Error, "require$$9");
  checkMainScript("f(require$$0, require$$4)");
  assert(true);
});
