import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { REPLAY_PER_CLASS, strategyUnits } from "../lib/experiment/strategies.ts";
import type { EpochLog } from "../lib/experiment/train_unit.ts";

const quiet = { progress: "silent" as const, log: () => {} };
const CLASSES = ["woven", "pill", "grid"];

async function tinyDataset(): Promise<string> {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-strategies-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 8,
    testGoodPerClass: 2,
    testBadPerClass: 2,
    classes: CLASSES,
  });
  return root;
}

function tinyConfig(root: string, overrides: PartialConfig = {}): PartialConfig {
  return {
    name: "tiny",
    data: { root },
    imageSize: 32,
    epochs: 1,
    batchSize: 4,
    backend: "wasm",
    backbone: "small_resnet",
    seed: 5,
    ...overrides,
  };
}

async function readLog(dir: string): Promise<EpochLog[]> {
  const text = await Deno.readTextFile(join(dir, "tiny", "log.jsonl"));
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("strategies: the units of each strategy", () => {
  assertEquals(strategyUnits("per-class", ["a", "b"]).map((u) => u.unit), ["a", "b"]);
  assertEquals(strategyUnits("joint", ["a", "b"]), [{ unit: "joint", classes: ["a", "b"] }]);
  assertEquals(strategyUnits("continual", ["a", "b"])[0].classes, ["a", "b"]);
});

Deno.test("sequential: the recorded order is respected, every stage is evaluated on all classes, and a resumed sequence continues at the right class", async () => {
  const root = await tinyDataset();
  const config = tinyConfig(root, { strategy: "sequential" });
  const wholeDir = await Deno.makeTempDir();
  const whole = await runExperiment(config, { ...quiet, resultsDir: wholeDir });
  const log = await readLog(wholeDir);
  const stages = log.filter((e) => e.stage).map((e) => e.stage!);
  const order = stages[0].order;
  assertEquals([...order].sort(), [...CLASSES].sort());
  assertEquals(stages.map((s) => s.className), order);
  assertEquals(log.map((e) => e.unit), order.map((c, i) => `sequential-0${i + 1}-${c}`));
  for (const stage of stages) {
    assertEquals(Object.keys(stage.perClass).sort(), [...CLASSES].sort());
    assertEquals([stage.trainImages, stage.replayed], [8, 0]);
  }
  assertEquals(Object.keys(whole.perClass).sort(), [...CLASSES].sort());

  // Stop after the second stage, resume: the third class trains, nothing else again.
  const results = await Deno.makeTempDir();
  const controller = new AbortController();
  await assertRejects(() =>
    runExperiment(config, {
      ...quiet,
      resultsDir: results,
      signal: controller.signal,
      onEpoch: (entry) => {
        if (entry.stage?.index === 1) controller.abort();
      },
    })
  );
  const started: string[] = [];
  const resumed = await runExperiment(config, {
    ...quiet,
    resultsDir: results,
    resume: true,
    onEpoch: (entry) => void started.push(entry.unit),
  });
  assertEquals(started, [`sequential-03-${order[2]}`]);
  assertEquals(Object.values(resumed.mean), Object.values(whole.mean));
  assertEquals((await readLog(results)).map((e) => e.unit), log.map((e) => e.unit));
});

Deno.test("continual: later stages replay a fixed buffer of earlier classes", async () => {
  const root = await tinyDataset();
  const dir = await Deno.makeTempDir();
  await runExperiment(tinyConfig(root, { strategy: "continual" }), { ...quiet, resultsDir: dir });
  const stages = (await readLog(dir)).filter((e) => e.stage).map((e) => e.stage!);
  // 8 training images per class here, REPLAY_PER_CLASS (8) of each earlier class replayed.
  assertEquals(stages.map((s) => s.replayed), [0, REPLAY_PER_CLASS, 2 * REPLAY_PER_CLASS]);
  assert(stages.every((s, i) => s.trainImages === 8 + s.replayed && s.index === i));
});
