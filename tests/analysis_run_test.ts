import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "@std/path";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs-core";
import { analyseRun, metricDeltas, readRunMetrics } from "../lib/analysis/mod.ts";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";

const quiet = { progress: "silent" as const, log: () => {} };

async function tinyRuns(): Promise<{ results: string; root: string }> {
  const base = await Deno.makeTempDir({ prefix: "ccl-analysis-" });
  const root = join(base, "synth");
  await ensureSynthDataset(root, {
    size: 32,
    trainPerClass: 6,
    testGoodPerClass: 2,
    testBadPerClass: 7,
    classes: ["woven", "grid", "pill"],
  });
  return { results: join(base, "results"), root };
}

const config = (root: string, name: string, extra: Record<string, unknown> = {}) => ({
  name,
  data: { root },
  imageSize: 32,
  epochs: 1,
  batchSize: 8,
  backend: "wasm",
  backbone: "small_resnet",
  seed: 1,
  ...extra,
});

Deno.test("analyseRun: a joint run's report, charts and deltas; bad runs are clear errors", async () => {
  const { results, root } = await tinyRuns();
  await runExperiment(config(root, "joint", { strategy: "joint", ccl: {} }), {
    ...quiet,
    resultsDir: results,
  });
  await runExperiment(config(root, "per-class", { strategy: "per-class" }), {
    ...quiet,
    resultsDir: results,
  });
  const before = tf.memory().numTensors;
  const { analysis, files } = await analyseRun(join(results, "joint"), {
    against: join(results, "per-class"),
    log: () => {},
  });
  assertEquals(tf.memory().numTensors, before, "the analysis frees every tensor");
  assertEquals(analysis.classes, ["grid", "pill", "woven"]);
  assertEquals(analysis.testImages, { total: 27, normal: 6, anomalous: 21 });
  assertEquals(analysis.clustering.confusion.flat().reduce((a, b) => a + b, 0), 27);
  assert(analysis.clustering.vMeasure >= 0 && analysis.clustering.vMeasure <= 1);
  assertEquals(analysis.embedding.length, 27);
  assert(analysis.embedding.every((e) => e.umap && e.pca.every(Number.isFinite)));
  assert(analysis.reconstruction.available);
  if (analysis.reconstruction.available) {
    assertEquals(analysis.reconstruction.all.images, 27);
    assertEquals(analysis.reconstruction.prototypeImages, { grid: 6, pill: 6, woven: 6 });
    assert(
      "regions" in analysis.reconstruction.foreign || "note" in analysis.reconstruction.foreign,
    );
  }
  assertEquals(analysis.deltas?.classes, ["grid", "pill", "woven"]);
  const names = files.map((f) => f.split("/").pop()).sort();
  assertEquals(names, [
    "cluster_confusion.png",
    "embedding_pca.png",
    "embedding_umap.png",
    "metric_deltas.png",
    "reconstruction_confusion.png",
    "report.json",
  ]);
  for (const file of files.filter((f) => f.endsWith(".png"))) {
    const meta = await sharp(file).metadata();
    assert(meta.width! > 200 && meta.height! > 150, `${file}: ${meta.width}x${meta.height}`);
  }

  await assertRejects(
    () => analyseRun(join(results, "per-class"), { log: () => {} }),
    Error,
    "needs a joint model",
  );
  await Deno.remove(join(results, "joint", "checkpoints"), { recursive: true });
  await assertRejects(
    () => analyseRun(join(results, "joint"), { log: () => {} }),
    Error,
    "no checkpoints",
  );
  await assertRejects(
    () => analyseRun(join(results, "nothing"), { log: () => {} }),
    Error,
    "not a run folder",
  );
  await assertRejects(
    () => analyseRun(join(results, "joint"), { against: join(results, "nothing"), log: () => {} }),
    Error,
    "metrics.json: not found",
  );
});

Deno.test("metricDeltas: other minus base per class and mean; unmatched classes listed", () => {
  const m = (x: number) => ({
    iAuroc: x,
    iAp: x,
    iF1Max: x,
    pAuroc: x,
    pAp: x,
    pF1Max: x,
    aupro: x,
    mAD: x,
  });
  const d = metricDeltas(
    { name: "joint", perClass: { a: m(0.5), b: m(0.75) }, mean: m(0.625) },
    { name: "ccl", perClass: { a: m(0.75), c: m(1) }, mean: m(0.875) },
  );
  assertEquals(d.classes, ["a"]);
  assertEquals(d.perClass.a.iAuroc, 0.25);
  assertEquals(d.mean.aupro, 0.25);
  assertEquals(d.unmatched, ["b", "c"]);
});

Deno.test("readRunMetrics: a malformed metrics.json names the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "metrics.json"), "{}");
  await assertRejects(() => readRunMetrics(dir), Error, `"perClass" and "mean"`);
  await Deno.writeTextFile(join(dir, "metrics.json"), "{");
  await assertRejects(() => readRunMetrics(dir), Error, "metrics.json: cannot read it");
});
