import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { DEFAULT_CCL_CONFIG, resolveCCLConfig } from "../lib/ccl/config.ts";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";

Deno.test("CCL config: augmentation defaults to the paper's ({}) and is validated by part", () => {
  assertEquals(DEFAULT_CCL_CONFIG.augmentation, {});
  assertEquals(resolveCCLConfig({}).augmentation, {});
  const custom = resolveCCLConfig({ augmentation: { blur: false, rotation: 5 } }, "run.json");
  assertEquals(custom.augmentation, { blur: false, rotation: 5 });
  assertThrows(
    () => resolveCCLConfig({ augmentation: { rotate: 5 } }, "run.json"),
    Error,
    'run.json: unknown augmentation part "rotate"',
  );
  assertThrows(
    () => resolveCCLConfig({ augmentation: { hflip: "yes" } }, "run.json"),
    TypeError,
    'augmentation part "hflip" must be false, a number or an object',
  );
  assertThrows(
    () => resolveCCLConfig({ augmentation: [] }, "run.json"),
    TypeError,
    'CCL option "augmentation" must be an object',
  );
});

Deno.test("CCL augmentation settings reach training and are recorded with the run", async () => {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-augment-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 4,
    testGoodPerClass: 1,
    testBadPerClass: 1,
    classes: ["woven", "pill"],
  });
  const losses = async (augmentation: Record<string, unknown> | undefined) => {
    const resultsDir = await Deno.makeTempDir();
    const config: PartialConfig = {
      name: "augment",
      data: { root },
      imageSize: 32,
      epochs: 1,
      batchSize: 4,
      backend: "wasm",
      backbone: "small_resnet",
      seed: 3,
      ccl: augmentation ? { augmentation } : {},
    };
    await runExperiment(config, { progress: "silent", log: () => {}, resultsDir });
    const saved = JSON.parse(await Deno.readTextFile(join(resultsDir, "augment", "config.json")));
    const log = (await Deno.readTextFile(join(resultsDir, "augment", "log.jsonl"))).trim();
    return { saved, first: JSON.parse(log.split("\n")[0]).losses.total as number };
  };
  const paper = await losses(undefined);
  const none = await losses({
    crop: false,
    hflip: false,
    vflip: false,
    rotation: false,
    colorJitter: false,
    grayscale: false,
    blur: false,
  });
  assertEquals(none.saved.ccl.augmentation.crop, false);
  assertNotEquals(none.first, paper.first);
});
