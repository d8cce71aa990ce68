import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { evaluateRun } from "../lib/experiment/evaluate_run.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { runExperiment, type RunResult } from "../lib/experiment/run_experiment.ts";

const quiet = { progress: "silent" as const, log: () => {} };

async function tinyDataset(): Promise<string> {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-exp-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 8,
    testGoodPerClass: 2,
    testBadPerClass: 3,
    classes: ["woven", "pill"],
  });
  return root;
}

function tinyConfig(root: string, overrides: PartialConfig = {}): PartialConfig {
  return {
    name: "tiny",
    data: { root },
    imageSize: 32,
    epochs: 2,
    batchSize: 4,
    backend: "wasm",
    backbone: "small_resnet",
    seed: 3,
    ...overrides,
  };
}

function metricValues(result: { mean: Record<string, number> }): number[] {
  return Object.values(result.mean);
}

Deno.test("runner: a joint run writes metrics, table, log, config and checkpoint", async () => {
  const root = await tinyDataset();
  const results = await Deno.makeTempDir();
  const result = await runExperiment(tinyConfig(root), { ...quiet, resultsDir: results });
  const dir = join(results, "tiny");
  const saved: RunResult = JSON.parse(await Deno.readTextFile(join(dir, "metrics.json")));
  assertEquals(saved.backend.name, "wasm");
  assertEquals(saved.seed, 3);
  assertEquals(saved.config.strategy, "joint");
  assertEquals(Object.keys(saved.perClass).sort(), ["pill", "woven"]);
  assertEquals(saved.units.length, 1);
  const clustering = saved.units[0].classClustering!;
  assertEquals([clustering.images, clustering.classes], [4, 2]);
  assert(clustering.vMeasure >= 0 && clustering.vMeasure <= 1);
  const predictions = JSON.parse(await Deno.readTextFile(join(dir, "predictions.json")));
  assertEquals(predictions.length, 10);
  assert(predictions.every((p: { image: string }) => !p.image.startsWith("/")));
  assertEquals(Object.keys(saved.perDefect).sort(), ["pill", "woven"]);
  assert(saved.trainSeconds > 0);
  for (const value of metricValues(result)) assert(value >= 0 && value <= 1, `${value}`);
  const table = await Deno.readTextFile(join(dir, "table.md"));
  assert(table.includes("| **mean** |") && table.includes("AUPRO"), table);
  const log = (await Deno.readTextFile(join(dir, "log.jsonl"))).trim().split("\n");
  assertEquals(log.map((line) => JSON.parse(line).epoch), [1, 2]);
  assert((await Deno.stat(join(dir, "checkpoints", "joint.safetensors"))).isFile);
  assert((await Deno.stat(join(dir, "config.json"))).isFile);

  const again = await evaluateRun(dir, quiet);
  assertEquals(metricValues(again), metricValues(result));
});

Deno.test("runner: the same seed on the same backend gives the same metrics", async () => {
  const root = await tinyDataset();
  const config = tinyConfig(root, { ccl: {}, epochs: 1 });
  const a = await runExperiment(config, { ...quiet, resultsDir: await Deno.makeTempDir() });
  const b = await runExperiment(config, { ...quiet, resultsDir: await Deno.makeTempDir() });
  assertEquals(metricValues(a), metricValues(b));
  const c = await runExperiment({ ...config, seed: 4 }, {
    ...quiet,
    resultsDir: await Deno.makeTempDir(),
  });
  assert(metricValues(a).some((value, i) => value !== metricValues(c)[i]), "seed changes metrics");
});

Deno.test("runner: an interrupted CCL run resumes to the uninterrupted result", async () => {
  const root = await tinyDataset();
  const config = tinyConfig(root, { ccl: {}, strategy: "per-class" });
  const whole = await runExperiment(config, { ...quiet, resultsDir: await Deno.makeTempDir() });

  const results = await Deno.makeTempDir();
  const controller = new AbortController();
  await assertRejects(() =>
    runExperiment(config, {
      ...quiet,
      resultsDir: results,
      signal: controller.signal,
      onEpoch: (entry) => {
        if (entry.unit === "woven" && entry.epoch === 1) controller.abort();
      },
    })
  );
  await assertRejects(
    () => runExperiment(config, { ...quiet, resultsDir: results }),
    Error,
    "--resume",
  );
  const resumed = await runExperiment(config, { ...quiet, resultsDir: results, resume: true });
  assertEquals(resumed.units.map((u) => u.resumedFromEpoch), [2, 1]);
  assertEquals(metricValues(resumed), metricValues(whole));
  const log = (await Deno.readTextFile(join(results, "tiny", "log.jsonl"))).trim().split("\n");
  assertEquals(log.map((line) => JSON.parse(line).unit), ["pill", "pill", "woven", "woven"]);
});

Deno.test("runner: a bad config is refused before any work, naming the fields", async () => {
  await assertRejects(
    () => runExperiment({ imageSize: 50, epochs: 0, strategy: "both" as "joint" }, quiet),
    Error,
    "imageSize must be a multiple of 32",
  );
});
