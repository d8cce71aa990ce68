import {
  assertAlmostEquals,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { join } from "@std/path";
import { demoData, demoJobs, overSeeds, seedTable } from "../lib/experiment/demo.ts";
import type { RunResult } from "../lib/experiment/run_experiment.ts";
import { metricBars } from "../lib/analysis/demo_plots.ts";

const metrics = (x: number) => ({
  iAuroc: x,
  iAp: x,
  iF1Max: x,
  pAuroc: x,
  pAp: x,
  pF1Max: x,
  aupro: x,
  mAD: x,
});
const result = (x: number) =>
  ({
    perClass: { a: metrics(x), b: metrics(x / 2) },
    mean: metrics(x),
    units: [],
  }) as unknown as RunResult;

Deno.test("demoJobs: every strategy at every seed, each its own run folder", () => {
  const jobs = demoJobs({ epochs: 2 }, [0, 1]);
  assertEquals(jobs.map((j) => j.config.name), [
    "rd-one-for-one-seed0",
    "rd-joint-seed0",
    "rd-joint-ccl-seed0",
    "rd-one-for-one-seed1",
    "rd-joint-seed1",
    "rd-joint-ccl-seed1",
  ]);
  assertEquals(jobs.map((j) => j.config.seed), [0, 0, 0, 1, 1, 1]);
  assertEquals(jobs[2].config.ccl, {});
  assertEquals(jobs[0].config.epochs, 2);
  assertThrows(() => demoJobs({}, []), Error, "at least one seed");
  assertThrows(() => demoJobs({}, [1, 1]), Error, "repeated seed");
});

Deno.test("overSeeds and seedTable: mean ± sample sd over seeds", () => {
  const runs = [
    { label: "joint", result: result(0.6) },
    { label: "joint", result: result(0.8) },
    { label: "joint+CCL", result: result(0.9) },
  ];
  const stats = overSeeds(runs);
  assertEquals(stats.map((s) => s.label), ["joint", "joint+CCL"]);
  assertAlmostEquals(stats[0].mean.iAuroc, 0.7, 1e-12);
  assertAlmostEquals(stats[0].sd.iAuroc, Math.SQRT2 * 0.1, 1e-12);
  assertEquals(Number.isNaN(stats[1].sd.iAuroc), true, "one seed: no spread");
  const table = seedTable(stats, [0, 1]);
  assertStringIncludes(table, "mean ± sd over seeds 0, 1");
  assertStringIncludes(table, "| joint | 70.0 ± 14.1 |");
  assertStringIncludes(table, "| joint+CCL | 90.0 |");
});

Deno.test("metricBars: per class and mean, one bar per strategy with its spread", () => {
  const bars = metricBars([
    { label: "joint", seed: 0, runDir: "", result: result(0.6) },
    { label: "joint", seed: 1, runDir: "", result: result(0.8) },
  ], ["iAuroc"]);
  assertEquals(bars.map((b) => b.className), ["a", "b", "mean"]);
  assertAlmostEquals(bars[1].mean, 0.35, 1e-12);
  assertEquals(bars[0].seeds, 2);
});

Deno.test("demoData: own data is titled by its folder; synthetic flags do not mix with it", async () => {
  const own = await demoData({}, { data: { root: "/data/mvtec" } });
  assertEquals(own, { root: "/data/mvtec", label: "the dataset in /data/mvtec" });
  await assertRejects(
    () => demoData({ family: "confusable" }, { data: { root: "/data/mvtec" } }),
    Error,
    "not with --data",
  );
  await assertRejects(
    () => demoData({ family: "distinct", confusability: 0.5 }, {}),
    Error,
    "confusable family only",
  );
});

Deno.test("demoData: the synthetic families are generated and named by what they are", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = await demoData({ family: "distinct", cacheDir: dir }, {
      imageSize: 32,
      data: { classes: ["woven", "pill"] },
    });
    assertEquals(data.label, "the synthetic distinct dataset (2 classes)");
    assertEquals(data.root, join(dir, "synth-32-seed0"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
