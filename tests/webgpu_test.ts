/**
 * The WebGPU path end to end: training steps of RD + CCL (pixel matching, local and global
 * losses), checkpoints and an evaluation through the runner, on whatever WebGPU adapter Deno
 * finds (in CI: Mesa's llvmpipe software adapter), compared with the same run on wasm.
 *
 * TF.js WebGPU cannot read tensors synchronously under Deno (no OffscreenCanvas): any
 * `dataSync`/`arraySync` on a training or evaluation path makes this test fail.
 *
 * Without an adapter the test is skipped with a warning, and fails when `CCL_REQUIRE_WEBGPU=1`
 * (as in CI, where `.ci/run` installs Mesa's EGL and llvmpipe to provide one).
 */
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { runExperiment, type RunResult } from "../lib/experiment/run_experiment.ts";
import type { EpochLog } from "../lib/experiment/train_unit.ts";

const required = Deno.env.get("CCL_REQUIRE_WEBGPU") === "1";
const NO_ADAPTER = "no WebGPU adapter (Mesa's llvmpipe is enough: Debian packages libegl1 " +
  "libegl-mesa0 libgl1-mesa-dri, as .ci/run installs)";

async function adapterDescription(): Promise<string | undefined> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() as { info?: { description?: string } } : null;
  return adapter ? adapter.info?.description || "unknown adapter" : undefined;
}

const description = await adapterDescription();
if (!description && !required) {
  console.warn(`tests/webgpu_test.ts: SKIPPED, ${NO_ADAPTER}; CCL_REQUIRE_WEBGPU=1 fails instead`);
}

async function run(
  root: string,
  backend: "webgpu" | "wasm",
  clipNorm: number,
): Promise<{ result: RunResult; log: EpochLog[] }> {
  const log: EpochLog[] = [];
  const config: PartialConfig = {
    name: `webgpu-vs-wasm-${backend}-clip${clipNorm}`,
    clipNorm,
    data: { root },
    ccl: { sameClassPositive: true },
    imageSize: 32,
    epochs: 1,
    batchSize: 4,
    backend,
    backbone: "small_resnet",
    seed: 5,
  };
  const result = await runExperiment(config, {
    progress: "silent",
    log: () => {},
    resultsDir: await Deno.makeTempDir({ prefix: "ccl-webgpu-" }),
    onEpoch: (entry) => {
      log.push(entry);
    },
  });
  return { result, log };
}

Deno.test({
  name: "webgpu: RD + CCL training, checkpoints and evaluation match wasm",
  ignore: !description && !required,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    if (!description) throw new Error(`tests/webgpu_test.ts: ${NO_ADAPTER}`);
    const root = join(await Deno.makeTempDir({ prefix: "ccl-webgpu-data-" }), "synth");
    await ensureSynthDataset(root, {
      size: 32,
      trainPerClass: 6, // 3 steps of batch 4
      testGoodPerClass: 2,
      testBadPerClass: 2,
      classes: ["woven", "pill"],
    });
    // The runner's default (no gradient clipping).
    const gpu = await run(root, "webgpu", 0);
    assertEquals(gpu.result.backend.name, "webgpu", `adapter ${description}`);
    assertEquals(tf.getBackend(), "webgpu");
    const cpu = await run(root, "wasm", 0);
    assertEquals(cpu.result.backend.name, "wasm");

    // Same seeds, same batches: the mean losses of the 3 steps agree up to float rounding (the
    // first step's agree to about 1e-7; Adam updates let the difference grow a little).
    assertEquals(gpu.log.length, 1);
    gpu.log.forEach((entry, i) => {
      for (const [name, value] of Object.entries(cpu.log[i].losses)) {
        // Known open issue (README, "Backends"): on llvmpipe the logged `method` term reads back
        // wrong while `total` (= method + global + local) reads right, so the method term is
        // checked through `total`.
        if (name === "method") continue;
        assert(Number.isFinite(entry.losses[name]), `webgpu loss ${name} is ${entry.losses[name]}`);
        assertAlmostEquals(
          entry.losses[name],
          value,
          2e-3 * Math.max(1, Math.abs(value)),
          `epoch ${entry.epoch} loss ${name}`,
        );
      }
    });
    assertMetricsAgree(gpu.result, cpu.result);
  },
});

/**
 * The metrics of two trained models agree (a near tie between two test scores could swap,
 * hence a tolerance rather than equality).
 */
function assertMetricsAgree(gpu: RunResult, cpu: RunResult): void {
  for (const [name, value] of Object.entries(cpu.mean)) {
    assertAlmostEquals(gpu.mean[name as keyof RunResult["mean"]], value, 0.02, name);
  }
}
