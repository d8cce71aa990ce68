/**
 * Configs and command lines that used to be accepted silently or answered with a misleading
 * message: unknown keys in config files, run names that leave the results folder, plug-in
 * typos found only after the dataset was read, flag values that look like flags.
 */
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { join } from "@std/path";
import { parseCli } from "../lib/experiment/cli.ts";
import { resolveConfig } from "../lib/experiment/config.ts";
import { readConfigFile } from "../lib/experiment/config_file.ts";
import { createProgress } from "../lib/experiment/progress.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { withTempDir } from "./_trust_fixtures.ts";

const quiet = { progress: "silent" as const, log: () => {} };

async function configFile(dir: string, text: string): Promise<string> {
  const path = join(dir, "run.json");
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("config file: unknown keys (top level and data) are errors naming file and key", async () => {
  await withTempDir(async (dir) => {
    const cases: Array<[string, string]> = [
      ['{"epoch": 3}', 'unknown key "epoch"'],
      ['{"data": {"classes": ["a"], "rot": "/data"}}', 'unknown key "data.rot"'],
      ["[1, 2]", "must be a JSON object, got an array"],
      ["3", "must be a JSON object"],
      ['{"data": "x"}', '"data" must be an object'],
      ["{ not json", "not valid JSON"],
    ];
    for (const [text, problem] of cases) {
      const path = await configFile(dir, text);
      const error = await assertRejects(() => readConfigFile(path));
      assertStringIncludes((error as Error).message, path);
      assertStringIncludes((error as Error).message, problem);
      // The train command line goes through the same reader.
      await assertRejects(() => parseCli(["--config", path]), Error, problem);
    }
    const path = await configFile(dir, '{"epochs": 3, "data": {"classes": ["a"]}}');
    assertEquals((await parseCli(["--config", path])).config.epochs, 3);
  });
});

Deno.test("config objects: unknown keys are refused too", () => {
  assertThrows(
    () => resolveConfig({ epoch: 3 } as unknown as Parameters<typeof resolveConfig>[0]),
    Error,
    'unknown key "epoch"',
  );
});

Deno.test("run name: one plain path segment ('.', '..', '/' and hidden names refused)", () => {
  for (const name of ["..", ".", "a/b", ".hidden", ""]) {
    assertThrows(() => resolveConfig({ name }), Error, "name must");
  }
  assertEquals(resolveConfig({ name: "rd-joint.v2_1" }).name, "rd-joint.v2_1");
});

Deno.test("default run name follows method, strategy and CCL", () => {
  assertEquals(resolveConfig({}).name, "rd-joint");
  assertEquals(resolveConfig({ strategy: "per-class" }).name, "rd-per-class");
  assertEquals(resolveConfig({ ccl: {} }).name, "rd-joint-ccl");
  assertEquals(resolveConfig({ name: "mine", ccl: {} }).name, "mine");
});

Deno.test("gradient clip: CCL runs clip at 5 unless the config says otherwise", () => {
  assertEquals(resolveConfig({}).clipNorm, 0);
  assertEquals(resolveConfig({ ccl: {} }).clipNorm, 5);
  assertEquals(resolveConfig({ ccl: {}, clipNorm: 0 }).clipNorm, 0);
  assertEquals(resolveConfig({ ccl: {}, clipNorm: 2 }).clipNorm, 2);
  // A saved config.json holds the resolved value, so re-reading it keeps it.
  assertEquals(resolveConfig({ ...resolveConfig({ ccl: {}, clipNorm: 0 }) }).clipNorm, 0);
});

Deno.test("unknown method, backbone, method option, CCL option, backend: refused before any work", async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ method: "patchcore" }, 'unknown method "patchcore"'],
    [{ backbone: "resnet19" }, 'unknown backbone "resnet19"'],
    [{ backbone: "resnet18:/no/such/file.safetensors" }, "weight file does not exist"],
    [{ methodOptions: { blocksPerStage: 1 } }, 'unknown RD config key "blocksPerStage"'],
    [{ ccl: { windw: 3 } }, 'unknown CCL option "windw"'],
    [{ backend: "cuda" }, 'unknown backend "cuda"'],
    [{ labels: { pseudoLabels: "x.json" } }, "CCL is off"],
  ];
  for (const [partial, problem] of cases) {
    // The data folder does not exist: an error about it would mean the dataset was read first.
    const started = performance.now();
    await assertRejects(
      () => runExperiment({ ...partial, data: { root: "/no/such/dataset" } }, quiet),
      Error,
      problem,
    );
    assert(performance.now() - started < 5000, "no dataset or backbone work was done");
  }
});

Deno.test('cli: --epochs -3 and --epochs "" get messages about the value', async () => {
  const negative = (await parseCli(["--epochs", "-3"])).config;
  assertThrows(() => resolveConfig(negative), Error, "epochs must be a positive integer, got -3");
  await assertRejects(() => parseCli(["--epochs", ""]), Error, "--epochs needs a value");
  await assertRejects(() => parseCli(["--epochs"]), Error, "--epochs needs a value");
  assertEquals((await parseCli(["--lr", "-1e-3"])).config.learningRate, -1e-3);
  await assertRejects(() => parseCli(["stray"]), Error, 'unexpected argument "stray"');
});

Deno.test("cli: -h is --help; --batch-size is the same flag as --batch", async () => {
  assertEquals((await parseCli(["-h"])).flags.help, true);
  assertEquals((await parseCli(["--batch-size", "8"])).config.batchSize, 8);
  assertEquals((await parseCli(["--batch", "8"])).config.batchSize, 8);
});

Deno.test("cli: --pseudo-labels without --ccl is an error", async () => {
  await withTempDir(async (dir) => {
    const labels = join(dir, "labels.json");
    await Deno.writeTextFile(labels, "{}");
    const { config } = await parseCli(["--pseudo-labels", labels]);
    assertThrows(() => resolveConfig(config), Error, "CCL is off");
    const withCcl = (await parseCli(["--pseudo-labels", labels, "--ccl"])).config;
    assertEquals(resolveConfig(withCcl).name, "rd-joint-ccl-pseudo");
  });
});

Deno.test("progress to a non-terminal: one line when the work finishes, none per update", () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const bar = createProgress("epoch 1/2", 1000, { mode: "lines" });
    for (let i = 1; i <= 1000; i++) bar.update(i, { loss: 1 / i });
    bar.finish({ loss: 0.001 });
  } finally {
    console.error = original;
  }
  assertEquals(lines.length, 1);
  assertStringIncludes(lines[0], "epoch 1/2");
  assertStringIncludes(lines[0], "1000/1000");
});
