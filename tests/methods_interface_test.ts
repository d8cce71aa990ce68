import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { resolveConfig } from "../lib/experiment/config.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { methodOptionsOf } from "../lib/experiment/model.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { demoJobs } from "../lib/experiment/demo.ts";
import { writeDemoPlots } from "../lib/analysis/demo_plots.ts";
import { METHOD_NAMES, methodProblems } from "../lib/methods/registry.ts";

const quiet = { progress: "silent" as const, log: () => {} };
const TINY_DRAEM = { reconstructiveWidth: 4, discriminativeWidth: 4, learningRate: 1e-3 };

async function tinyDataset(): Promise<string> {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-methods-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 8,
    testGoodPerClass: 2,
    testBadPerClass: 2,
    classes: ["woven", "pill"],
  });
  return root;
}

function tinyConfig(root: string, overrides: PartialConfig = {}): PartialConfig {
  return {
    name: "tiny",
    method: "draem",
    methodOptions: TINY_DRAEM,
    data: { root },
    imageSize: 32,
    epochs: 2,
    batchSize: 4,
    backend: "wasm",
    seed: 2,
    ...overrides,
  };
}

Deno.test("methods: every registered method is known to the runner's checks", () => {
  assertEquals([...METHOD_NAMES].sort(), ["destseg", "dmad", "draem", "rd"]);
  assertEquals(methodProblems("draem", { imageSize: 64, architecture: "small_resnet" }), []);
  assert(
    methodProblems("draem", { imageSize: 48, architecture: "x" })[0].includes("multiple of 32"),
  );
  assert(
    methodProblems("dream", { imageSize: 64, architecture: "x" })[0].includes("unknown method"),
  );
  assert(
    methodProblems("destseg", { imageSize: 64, architecture: "x", stages: 2 })[0].includes(
      "3 stages",
    ),
  );
});

Deno.test("config: bad method, size or option fails before training, naming it", () => {
  const refuse = (partial: PartialConfig, text: string) => {
    let message = "";
    try {
      resolveConfig(partial);
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.includes(text), `expected "${text}" in: ${message}`);
  };
  refuse({ method: "dmad2" }, 'unknown method "dmad2"');
  refuse({ method: "draem", imageSize: 48 }, "multiple of 32 for draem");
  refuse(
    { method: "destseg", methodOptions: { segwidth: 3 } },
    'unknown DeSTSeg config key "segwidth"',
  );
  refuse({ strategy: "sideways" as "joint" }, "sequential, continual");
});

Deno.test("config: --method-options learningRate wins over the top-level learningRate", () => {
  assertEquals(methodOptionsOf({ learningRate: 1e-3, methodOptions: {} }).learningRate, 1e-3);
  assertEquals(
    methodOptionsOf({ learningRate: 1e-3, methodOptions: { learningRate: 4e-4 } }).learningRate,
    4e-4,
  );
  assertEquals("learningRate" in methodOptionsOf({ learningRate: null, methodOptions: {} }), false);
});

Deno.test("runner: DRAEM draws anomalies per step, logs the same keys with and without CCL, and resumes bit-exactly", async () => {
  const root = await tinyDataset();
  const config = tinyConfig(root);
  const whole = await runExperiment(config, { ...quiet, resultsDir: await Deno.makeTempDir() });
  const results = await Deno.makeTempDir();
  const controller = new AbortController();
  await assertRejects(() =>
    runExperiment(config, {
      ...quiet,
      resultsDir: results,
      signal: controller.signal,
      onEpoch: (entry) => {
        if (entry.epoch === 1) controller.abort();
      },
    })
  );
  const resumed = await runExperiment(config, { ...quiet, resultsDir: results, resume: true });
  assertEquals(resumed.units[0].resumedFromEpoch, 1);
  assertEquals(Object.values(resumed.mean), Object.values(whole.mean));

  const cclDir = await Deno.makeTempDir();
  await runExperiment(tinyConfig(root, { ccl: {}, epochs: 1 }), { ...quiet, resultsDir: cclDir });
  const keys = async (dir: string) =>
    Object.keys(
      JSON.parse((await Deno.readTextFile(join(dir, "tiny", "log.jsonl"))).split("\n")[0]).losses,
    ).sort();
  const plainKeys = await keys(results);
  assertEquals(plainKeys, ["method", "method.focal", "method.l2", "method.ssim", "total"]);
  assertEquals(await keys(cclDir), [...plainKeys, "global", "local"].sort());
});

Deno.test("demo: --methods runs every strategy for every method, labelled by method", () => {
  const jobs = demoJobs({ epochs: 1 }, [0], ["rd", "draem"]);
  assertEquals(jobs.map((j) => j.label), [
    "rd one-for-one",
    "rd joint",
    "rd joint+CCL",
    "draem one-for-one",
    "draem joint",
    "draem joint+CCL",
  ]);
  assertEquals(jobs[4].config.name, "draem-joint-seed0");
  assertEquals(jobs[4].config.method, "draem");
  assertEquals(demoJobs({}, [0]).map((j) => j.label), ["one-for-one", "joint", "joint+CCL"]);
});

Deno.test("demo plots: a multi-method demo analyses each method's joint runs and draws its overlays", async () => {
  const root = await tinyDataset();
  const resultsDir = await Deno.makeTempDir();
  const jobs = demoJobs(tinyConfig(root, { epochs: 1 }), [0], ["rd", "draem"]).filter((j) =>
    j.label.endsWith("joint") || j.label.endsWith("joint+CCL")
  );
  const runs = [];
  for (const job of jobs) {
    const config = {
      ...job.config,
      methodOptions: job.config.method === "draem" ? TINY_DRAEM : {},
    };
    const result = await runExperiment(config, { ...quiet, resultsDir });
    runs.push({ label: job.label, seed: 0, runDir: join(resultsDir, String(config.name)), result });
  }
  await writeDemoPlots(resultsDir, runs, { dataLabel: "tiny", log: () => {} });
  for (const run of runs) {
    const report = join(run.runDir, "confusion", "report.json");
    assert((await Deno.stat(report)).isFile, `${run.label}: no ${report}`);
  }
  for (const method of ["rd", "draem"]) {
    const overlays = [...Deno.readDirSync(join(resultsDir, "overlays", method))];
    assert(overlays.some((e) => e.name.endsWith(".png")), `no overlays for ${method}`);
  }
  const title = JSON.parse(
    await Deno.readTextFile(join(resultsDir, "plots", "metrics.vl.json")),
  ).title.text;
  assertEquals(title, "RD, DRAEM per class");
});
