import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { join } from "@std/path";
import {
  checkPlanInputs,
  expandGrid,
  gridRunName,
  type GridSpec,
  parseGridSpec,
  readGridSpec,
} from "../lib/grid/mod.ts";

const spec: GridSpec = {
  name: "paper",
  axes: {
    method: ["rd"],
    strategy: ["per-class", "joint", "joint+ccl"],
    dataset: ["synthetic", "mvtec"],
    seed: [0, 1],
  },
  datasets: { mvtec: { root: "/shared/mvtec_ad" } },
  fixed: { epochs: 3, imageSize: 64, data: { classes: ["bottle", "cable"] } },
};

Deno.test("grid spec: axes expand row-major into stable names and full configs", () => {
  const plan = expandGrid(spec);
  assertEquals(plan.runs.length, 12);
  assertEquals(plan.runs.slice(0, 4).map((r) => r.name), [
    "rd_per-class_synthetic_seed0",
    "rd_per-class_synthetic_seed1",
    "rd_per-class_mvtec_seed0",
    "rd_per-class_mvtec_seed1",
  ]);
  assertEquals(plan.runs.map((r) => r.index), [...Array(12).keys()]);
  const ccl = plan.runs.find((r) => r.name === "rd_joint-ccl_mvtec_seed1")!;
  assertEquals(ccl.axes, { method: "rd", strategy: "joint+ccl", dataset: "mvtec", seed: 1 });
  assertEquals(ccl.config.name, "rd_joint-ccl_mvtec_seed1");
  assertEquals([ccl.config.strategy, ccl.config.ccl, ccl.config.seed], ["joint", {}, 1]);
  assertEquals([ccl.config.epochs, ccl.config.imageSize], [3, 64]);
  // The dataset's root is merged with the fixed data settings.
  assertEquals(ccl.config.data, { root: "/shared/mvtec_ad", classes: ["bottle", "cable"] });
  const perClass = plan.runs.find((r) => r.name === "rd_per-class_synthetic_seed0")!;
  assertEquals([perClass.config.strategy, perClass.config.ccl], ["per-class", null]);
  assertEquals(perClass.config.data, { classes: ["bottle", "cable"] });
  assertEquals(plan.resultsDir, join("results", "grid", "paper"));
  assertEquals(plan.gridDir, join("results", "grid", "paper", "_grid"));
  // Same spec, same names: names depend on values only.
  assertEquals(expandGrid(spec).runs.map((r) => r.name), plan.runs.map((r) => r.name));
});

Deno.test("grid spec: strategies, defined values and config keys as axes", () => {
  const plan = expandGrid({
    name: "g",
    axes: { strategy: ["pseudo-ccl"], size: ["small"], epochs: [5, 10] },
    strategies: {
      "pseudo-ccl": { strategy: "joint", ccl: {}, labels: { pseudoLabels: "labels.json" } },
    },
    define: { size: { small: { imageSize: 32, batchSize: 4 } } },
  }, { resultsDir: "/tmp/out" });
  assertEquals(plan.runs.map((r) => r.name), [
    "pseudo-ccl_small_epochs5",
    "pseudo-ccl_small_epochs10",
  ]);
  const run = plan.runs[1].config;
  assertEquals([run.labels, run.imageSize, run.batchSize, run.epochs], [
    { pseudoLabels: "labels.json" },
    32,
    4,
    10,
  ]);
  assertEquals(plan.resultsDir, "/tmp/out");
  assertEquals(gridRunName({ method: "rd", strategy: "joint+ccl", seed: 2 }), "rd_joint-ccl_seed2");
  // A strategy the config knows needs no preset.
  const sequential = expandGrid({ name: "s", axes: { strategy: ["sequential"] } }).runs[0];
  assertEquals([sequential.name, sequential.config.strategy], ["sequential", "sequential"]);
});

Deno.test("grid spec: unknown axis values, methods and datasets are errors naming them", () => {
  const withAxis = (axes: GridSpec["axes"]) => ({ ...spec, axes });
  let error = assertThrows(() =>
    expandGrid(withAxis({ strategy: ["jiont"] }), { source: "s.json" })
  );
  assertStringIncludes(error.message, `s.json: axes.strategy: unknown value "jiont"`);
  assertStringIncludes(error.message, "per-class, joint, joint+ccl");
  error = assertThrows(() => expandGrid(withAxis({ method: ["rd", "patchcore"] })));
  assertStringIncludes(error.message, `axes.method: unknown value "patchcore" (known: rd`);
  error = assertThrows(() => expandGrid(withAxis({ dataset: ["visa"] })));
  assertStringIncludes(
    error.message,
    `axes.dataset: unknown value "visa" (known: synthetic, mvtec)`,
  );
  error = assertThrows(() => expandGrid(withAxis({ colour: ["red"] })));
  assertStringIncludes(error.message, "axes.colour: not an experiment-config key");
  error = assertThrows(() => expandGrid(withAxis({ seed: [0.5] })));
  assertStringIncludes(error.message, "axes.seed: 0.5 is not an integer");
  // A value the config rejects names the run.
  error = assertThrows(() => expandGrid(withAxis({ imageSize: [50] })));
  assertStringIncludes(error.message, "run imageSize50 (imageSize=50)");
  assertStringIncludes(error.message, "imageSize must be a multiple of 32");
  error = assertThrows(() =>
    expandGrid({
      ...spec,
      axes: { strategy: ["a+b", "a-b"] },
      strategies: { "a+b": { strategy: "joint" }, "a-b": { strategy: "per-class" } },
    })
  );
  assertStringIncludes(error.message, `get the same name "a-b"`);
});

Deno.test("grid spec: a dataset folder that does not exist fails before anything runs", async () => {
  const error = await assertRejects(() => checkPlanInputs(expandGrid(spec)));
  assertStringIncludes(error.message, "dataset mvtec: root /shared/mvtec_ad does not exist");
  const labels = expandGrid({
    name: "pseudo",
    axes: { strategy: ["pseudo-ccl"] },
    strategies: { "pseudo-ccl": { ccl: {}, labels: { pseudoLabels: "/nowhere/labels.json" } } },
  });
  const missing = await assertRejects(() => checkPlanInputs(labels));
  assertStringIncludes(missing.message, "run pseudo-ccl: invalid experiment config");
  assertStringIncludes(missing.message, "pseudo-label file does not exist: /nowhere/labels.json");
});

Deno.test("grid spec: malformed specs list every problem with its key", async () => {
  const error = assertThrows(() =>
    parseGridSpec({
      name: "has space",
      axes: { seed: [] },
      fixd: {},
      slurm: { gpus: "one", partitions: "gpu" },
    }, "bad.json")
  );
  for (
    const part of [
      "bad.json: invalid grid spec",
      `unknown key "fixd"`,
      `"name" must be letters`,
      "axes.seed must be a non-empty array",
      "slurm.gpus must be an integer >= 0",
      "unknown key slurm.partitions",
    ]
  ) assertStringIncludes(error.message, part);
  const dir = await Deno.makeTempDir({ prefix: "ccl-grid-" });
  await Deno.writeTextFile(join(dir, "broken.json"), "{ not json");
  const read = await assertRejects(() => readGridSpec(join(dir, "broken.json")));
  assertStringIncludes(read.message, "broken.json: not valid JSON");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("grid CLI: plan lists runs and states; bad input exits 1 with the reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-grid-" });
  const path = join(dir, "spec.json");
  const cli = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/grid.ts", ...args],
      stdin: "null",
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  };
  await Deno.writeTextFile(
    path,
    JSON.stringify({ name: "cli", axes: { strategy: ["joint", "joint+ccl"], seed: [3] } }),
  );
  const plan = await cli(["plan", path, "--results", join(dir, "results")]);
  assertEquals(plan.code, 0, plan.stderr);
  assertStringIncludes(plan.stdout, "joint-ccl_seed3  missing   not run yet");
  assertStringIncludes(plan.stdout, "2 missing");
  await Deno.writeTextFile(path, JSON.stringify({ name: "cli", axes: { method: ["nope"] } }));
  const bad = await cli(["plan", path]);
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, `axes.method: unknown value "nope"`);
  const badExecutor = await cli(["submit", path, "--executor", "pbs"]);
  assertEquals(badExecutor.code, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("grid spec: the README's example spec expands to its 6 runs", async () => {
  const plan = expandGrid(await readGridSpec("lib/grid/example.json"));
  assertEquals(plan.runs.map((r) => r.name), [
    "rd_per-class_synthetic_seed0",
    "rd_per-class_synthetic_seed1",
    "rd_joint_synthetic_seed0",
    "rd_joint_synthetic_seed1",
    "rd_joint-ccl_synthetic_seed0",
    "rd_joint-ccl_synthetic_seed1",
  ]);
  assertEquals(plan.resultsDir, join("results", "grid", "rd-ccl-synthetic"));
});
