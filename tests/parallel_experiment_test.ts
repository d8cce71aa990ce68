import { assert, assertEquals } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { WorkerPool } from "../lib/parallel/pool.ts";

const quiet = { progress: "silent" as const, log: () => {} };

Deno.test("runner: per-class units on 2 workers give exactly the serial run's results", async () => {
  const root = join(await Deno.makeTempDir({ prefix: "ccl-par-" }), "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 8,
    testGoodPerClass: 2,
    testBadPerClass: 3,
    classes: ["woven", "pill", "grid"],
  });
  const config = {
    name: "par",
    data: { root },
    imageSize: 32,
    epochs: 1,
    batchSize: 4,
    backend: "wasm",
    backbone: "small_resnet",
    seed: 5,
    strategy: "per-class" as const,
  };
  const serialDir = await Deno.makeTempDir();
  const serial = await runExperiment(config, { ...quiet, resultsDir: serialDir });
  const lines: string[] = [];
  const epochs: string[] = [];
  const pool = new WorkerPool({ workers: 2, onProgress: (p) => lines.push(`${p.workerIndex}`) });
  const parallelDir = await Deno.makeTempDir();
  let parallel;
  try {
    parallel = await runExperiment(config, {
      ...quiet,
      resultsDir: parallelDir,
      pool,
      onEpoch: (entry) => void epochs.push(entry.unit),
    });
  } finally {
    pool.close();
  }
  assertEquals(parallel.mean, serial.mean);
  assertEquals(parallel.perClass, serial.perClass);
  assertEquals(parallel.perDefect, serial.perDefect);
  const untimed = (units: typeof serial.units) => units.map(({ trainSeconds: _, ...rest }) => rest);
  assertEquals(untimed(parallel.units), untimed(serial.units));
  assertEquals(parallel.units.length, 3);
  assertEquals(epochs.sort(), ["grid", "pill", "woven"]);
  assert(new Set(lines).size === 2, "both workers ran units");
  const log = (dir: string) =>
    Deno.readTextFile(join(dir, "par", "log.jsonl")).then((text) =>
      text.trim().split("\n").map((l) => JSON.parse(l).unit)
    );
  assertEquals(await log(parallelDir), await log(serialDir));
  const predictions = (dir: string) => Deno.readTextFile(join(dir, "par", "predictions.json"));
  assertEquals(await predictions(parallelDir), await predictions(serialDir));
});
