/**
 * Runner cases that used to give wrong numbers or late failures: a refused run overwrote the
 * run's config, `eval` trusted whatever config and dataset it found, stale temporaries stayed,
 * impossible units and damaged test files failed only after training, checkpoints leaked.
 */
import "@tensorflow/tfjs-backend-cpu";
import * as tf from "@tensorflow/tfjs-core";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { saveCheckpoint } from "../lib/experiment/checkpoint.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { evaluateRun } from "../lib/experiment/evaluate_run.ts";
import { runExperiment, type RunResult } from "../lib/experiment/run_experiment.ts";
import { recordedPath, REPO_ROOT } from "../lib/util/repo_path.ts";
import { truncateFile } from "./_trust_fixtures.ts";

const quiet = { progress: "silent" as const, log: () => {} };

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

/** A two-class synthetic dataset (made once). */
const dataFixture = (async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_trust_runner_" });
  const data = join(dir, "synth");
  await ensureSynthDataset(data, {
    size: 32,
    trainPerClass: 4,
    testGoodPerClass: 2,
    testBadPerClass: 2,
    classes: ["woven", "pill"],
  });
  const config: PartialConfig = {
    name: "tiny",
    data: { root: data },
    imageSize: 32,
    epochs: 1,
    batchSize: 4,
    backend: "wasm",
    seed: 3,
  };
  return { dir, data, config };
})();

/** One trained 1-epoch joint run on the dataset (made once, when a test first needs it). */
let runFixture: Promise<{ results: string; run: string; result: RunResult }> | undefined;

async function fixture() {
  const { dir, data, config } = await dataFixture;
  runFixture ??= (async () => {
    const results = join(dir, "results");
    const result = await runExperiment(config, { ...quiet, resultsDir: results });
    return { results, run: join(results, "tiny"), result };
  })();
  return { dir, data, config, ...await runFixture };
}

/** A fresh copy of the dataset, to change without harm. */
async function dataCopy(tag: string): Promise<string> {
  const { dir, data } = await dataFixture;
  const copy = join(dir, `${tag}-data`);
  await copyTree(data, copy);
  return copy;
}

/** A fresh copy of the trained run folder and of the dataset, to change without harm. */
async function copies(tag: string): Promise<{ run: string; data: string }> {
  const { dir, run } = await fixture();
  const copy = join(dir, `${tag}-results`, "tiny");
  await copyTree(run, copy);
  return { run: copy, data: await dataCopy(tag) };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) files[entry.name] = await Deno.readTextFile(join(dir, entry.name));
  }
  return files;
}

Deno.test("a refused run (same name, no --resume) writes nothing", async () => {
  const { config, results, run } = await fixture();
  const before = await snapshot(run);
  await assertRejects(
    () =>
      runExperiment({ ...config, epochs: 2, learningRate: 1e-3 }, {
        ...quiet,
        resultsDir: results,
      }),
    Error,
    "--resume",
  );
  assertEquals(await snapshot(run), before);
});

Deno.test("a run stopped before its first checkpoint is refused too; a finished run without checkpoints is replaced", async () => {
  const { config } = await fixture();
  const { run } = await copies("stopped");
  await Deno.remove(join(run, "checkpoints"), { recursive: true });
  const finished = await snapshot(run);
  await Deno.remove(join(run, "metrics.json"));
  const options = { ...quiet, resultsDir: join(run, "..") };
  await assertRejects(() => runExperiment(config, options), Error, "no metrics.json");
  // Committed results keep no checkpoints: re-making them (as `deno task demo` does) works.
  await Deno.writeTextFile(join(run, "metrics.json"), finished["metrics.json"]);
  const notes: string[] = [];
  await runExperiment(config, { ...options, log: (line) => notes.push(line) });
  assert(notes.some((line) => line.includes("its results are replaced")), notes.join("\n"));
});

Deno.test("resuming under another config says what changed", async () => {
  const { config, results } = await fixture();
  await assertRejects(
    () =>
      runExperiment({ ...config, batchSize: 2 }, {
        ...quiet,
        resultsDir: results,
        resume: true,
      }),
    Error,
    "batchSize: 4 -> 2",
  );
});

Deno.test("eval refuses a config.json changed after training", async () => {
  const { run } = await copies("config");
  const path = join(run, "config.json");
  const saved = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify({ ...saved, batchSize: 2 }));
  await assertRejects(() => evaluateRun(run, quiet), Error, "trained under another config");
});

Deno.test("eval checks the dataset: moved is fine; changed test set or classes are refused", async () => {
  const { result } = await fixture();
  const { run, data } = await copies("dataset");
  // The same files elsewhere: paths are compared relative to the dataset root.
  const moved = await evaluateRun(run, { ...quiet, overrides: { data: { root: data } } });
  assertEquals(moved.mean, result.mean);

  const gone = join(data, "pill/test/good");
  const first = [...Deno.readDirSync(gone)].map((e) => e.name).sort()[0];
  await Deno.remove(join(gone, first));
  const error = await assertRejects(
    () => evaluateRun(run, { ...quiet, overrides: { data: { root: data } } }),
    Error,
  );
  assertStringIncludes(error.message, "test set: 1 image(s) gone");
  assertStringIncludes(error.message, `pill/test/good/${first}`);

  const other = (await copies("classes")).data;
  await copyTree(join(other, "pill"), join(other, "pill2"));
  await assertRejects(
    () => evaluateRun(run, { ...quiet, overrides: { data: { root: other } } }),
    Error,
    "classes added: pill2",
  );
});

Deno.test("a resumed run removes temporaries left by a killed write, then finishes", async () => {
  const { config } = await fixture();
  const { run } = await copies("temps");
  const stale = [
    join(run, "checkpoints", "joint.safetensors.4242.0123abcd.tmp"),
    join(run, "metrics.json.4242.89abcdef.tmp"),
  ];
  for (const path of stale) await Deno.writeTextFile(path, "half a file");
  const resumed = await runExperiment(config, {
    ...quiet,
    resultsDir: join(run, ".."),
    resume: true,
  });
  assertEquals(resumed.units[0].resumedFromEpoch, 1);
  for (const path of stale) {
    await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
  }
});

Deno.test("a joint run where a class has no normal test images is refused up front", async () => {
  const { config, dir } = await dataFixture;
  const data = await dataCopy("no-normals");
  await Deno.remove(join(data, "woven/test/good"), { recursive: true });
  const results = join(dir, "no-normals-out");
  await assertRejects(
    () => runExperiment({ ...config, data: { root: data } }, { ...quiet, resultsDir: results }),
    Error,
    '"woven" have no normal test images',
  );
  await assertRejects(() => Deno.stat(join(results, "tiny", "checkpoints")), Deno.errors.NotFound);
});

Deno.test("a damaged test image fails before training, naming the file", async () => {
  const { config, dir } = await dataFixture;
  const data = await dataCopy("damaged");
  const folder = join(data, "pill/test/good");
  const name = [...Deno.readDirSync(folder)].map((e) => e.name).sort()[0];
  await truncateFile(join(folder, name), 0.5);
  const results = join(dir, "damaged-out");
  await assertRejects(
    () => runExperiment({ ...config, data: { root: data } }, { ...quiet, resultsDir: results }),
    Error,
    join(folder, name),
  );
  await assertRejects(() => Deno.stat(join(results, "tiny", "checkpoints")), Deno.errors.NotFound);
});

Deno.test("metrics.json records the dataset's fingerprint; paths inside the repo are relative", async () => {
  const { run, data } = await fixture();
  const saved: RunResult = JSON.parse(await Deno.readTextFile(join(run, "metrics.json")));
  const fp = saved.dataset.fingerprint;
  assertEquals(fp.classes, ["pill", "woven"]);
  assertEquals([fp.train.images, fp.test.images, fp.test.masks], [8, 8, 4]);
  assertEquals(fp.files, 20);
  assertEquals(fp.hash.length, 16);
  assertEquals(saved.dataset.root, data); // outside the repository: absolute
  assertEquals(recordedPath(join(REPO_ROOT, ".cache", "synth-64-seed0")), ".cache/synth-64-seed0");
  const record = JSON.parse(await Deno.readTextFile(join(run, "dataset.json")));
  assertEquals(record.fingerprint, fp);
});

Deno.test("saving a checkpoint frees the optimiser's copies (3 scalars per optimiser leaked)", async () => {
  await tf.setBackend("cpu");
  const weights = tf.variable(tf.ones([3]));
  const adam = tf.train.adam(0.1);
  const powers = adam as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  adam.minimize(() => weights.square().sum());
  const path = join(await Deno.makeTempDir(), "unit.safetensors");
  const before = tf.memory().numTensors;
  for (let epoch = 1; epoch <= 3; epoch++) {
    // What the trainer hands over: getWeights (a fresh iteration scalar) plus Adam's powers.
    const optimizerWeights = [
      ...await adam.getWeights(),
      { name: "__adam_beta1_power", tensor: powers.accBeta1.clone() },
      { name: "__adam_beta2_power", tensor: powers.accBeta2.clone() },
    ];
    await saveCheckpoint(path, {
      variables: new Map([["w", weights]]),
      optimizers: [optimizerWeights],
    }, { epoch, step: epoch, configKey: "k", extra: {} });
  }
  assertEquals(tf.memory().numTensors, before);
  adam.minimize(() => weights.square().sum()); // the optimiser's own state is intact
  assert(!weights.isDisposed);
  adam.dispose();
  weights.dispose();
});
