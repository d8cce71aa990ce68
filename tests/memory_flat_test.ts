import * as tf from "@tensorflow/tfjs-core";
import { assertEquals } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";

Deno.test("runner: tensors stay flat over epochs and units (RD + CCL, per class, evaluation)", async () => {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-memory-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 4,
    testGoodPerClass: 1,
    testBadPerClass: 1,
    classes: ["woven", "pill"],
  });
  // The backend is started first so that its own setup does not count as growth.
  await selectBackend({ requested: "wasm", log: false });
  const before = tf.memory().numTensors;
  const counts: Array<{ unit: string; epoch: number; tensors: number }> = [];
  await runExperiment({
    name: "memory",
    data: { root },
    strategy: "per-class",
    ccl: {},
    imageSize: 32,
    epochs: 3,
    evalEvery: 1,
    batchSize: 2,
    backend: "wasm",
    backbone: "small_resnet",
    seed: 1,
  }, {
    progress: "silent",
    log: () => {},
    resultsDir: await Deno.makeTempDir(),
    onEpoch: (entry) => {
      counts.push({ unit: entry.unit, epoch: entry.epoch, tensors: tf.memory().numTensors });
    },
  });
  assertEquals(counts.length, 6, JSON.stringify(counts));
  // Every unit has the same model, so after epoch e every unit holds the same tensors; and from
  // the second epoch on (Adam's moments exist after the first step) nothing more.
  const first = counts.filter((c) => c.epoch === 1).map((c) => c.tensors);
  assertEquals(new Set(first).size, 1, `after epoch 1 per unit: ${first}`);
  for (const c of counts) {
    if (c.epoch > 1) {
      const start = counts.find((d) => d.unit === c.unit && d.epoch === 2)!.tensors;
      assertEquals(c.tensors, start, `${c.unit} epoch ${c.epoch}: ${JSON.stringify(counts)}`);
    }
  }
  assertEquals(tf.memory().numTensors, before, "tensors left after the run");
});
