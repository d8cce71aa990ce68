import { assertAlmostEquals, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import type { GridPlan } from "../lib/grid/mod.ts";
import { METRIC_NAMES } from "../lib/metrics/metric_names.ts";
import {
  addedDefaultKeys,
  collectStrategies,
  DEFAULT_OPTIONS,
  strategiesMarkdown,
  strategiesPlan,
  summarizeStages,
  trainingOrder,
  writeStrategies,
} from "../scripts/strategies_table.ts";

const ORDER = ["pill", "screw", "woven"];

/** A stage log line as the runner writes it after a stage's last epoch. */
function stageLine(index: number, replayed: number, iAuroc: number) {
  const perClass = Object.fromEntries(ORDER.map((c) => [c, { iAuroc, pAuroc: iAuroc / 2 }]));
  return JSON.stringify({
    unit: `sequential-0${index + 1}-${ORDER[index]}`,
    epoch: 2,
    losses: { total: 1 },
    seconds: 1,
    imagesPerSecond: 1,
    stage: {
      index,
      className: ORDER[index],
      order: ORDER,
      trainImages: 72 + replayed,
      replayed,
      perClass,
    },
  });
}

/** A finished run folder: metrics.json (the fields the table reads) and, staged, log.jsonl. */
async function fakeRun(
  plan: GridPlan,
  name: string,
  value: number,
  seconds: number,
  dropKey?: string,
) {
  const run = plan.runs.find((r) => r.name === name)!;
  const config: Record<string, unknown> = { ...run.config };
  if (dropKey) delete config[dropKey]; // a run made before the code had this config key
  const dir = join(plan.resultsDir, name);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "metrics.json"),
    JSON.stringify({
      config,
      seed: run.config.seed,
      mean: Object.fromEntries(METRIC_NAMES.map((m) => [m, value])),
      backend: { name: "wasm" },
      trainSeconds: seconds,
      dataset: { classes: ORDER },
      software: { git: { commit: "abcdef0123456789", dirty: false } },
    }),
  );
  const strategy = String(run.axes.strategy);
  if (strategy === "sequential" || strategy === "continual") {
    const replay = strategy === "continual" ? 8 : 0;
    // Stage i of seed s: I-AUROC 0.5 + 0.1 i + 0.1 s, so means over seeds are checkable.
    const lines = [0, 1, 2].map((i) =>
      stageLine(i, i * replay, 0.5 + 0.1 * i + 0.1 * run.config.seed)
    );
    await Deno.writeTextFile(join(dir, "log.jsonl"), lines.join("\n") + "\n");
  }
}

Deno.test("strategies table: means over seeds, stages, paper numbers and missing runs", async () => {
  const resultsDir = await Deno.makeTempDir({ prefix: "strategies_table_" });
  try {
    const plan = strategiesPlan({ ...DEFAULT_OPTIONS, methods: ["rd"], resultsDir });
    assertEquals(plan.runs.length, 10);
    // Training order: the sequential comparison first, seeds together.
    assertEquals(
      trainingOrder(plan).slice(0, 3).map((r) => r.name),
      ["rd_sequential_seed0", "rd_sequential_seed1", "rd_continual_seed0"],
    );
    for (const run of plan.runs) {
      if (run.name === "rd_joint-ccl_seed1") continue; // left missing
      const older = run.name === "rd_joint_seed0" ? "clipNorm" : undefined;
      await fakeRun(plan, run.name, 0.6 + 0.2 * run.config.seed, 10 + 20 * run.config.seed, older);
    }
    const summary = await collectStrategies(plan, "test machine");
    const row = (strategy: string) => summary.rows.find((r) => r.strategy === strategy)!;

    const perClass = row("per-class");
    assertEquals(perClass.label, "one-for-one");
    assertEquals(perClass.seeds, [0, 1]);
    assertAlmostEquals(perClass.metrics.iAuroc.mean!, 0.7, 1e-12);
    assertAlmostEquals(perClass.metrics.iAuroc.sd!, Math.SQRT2 * 0.1, 1e-12);
    assertAlmostEquals(perClass.trainSeconds.mean!, 20, 1e-12);
    assertEquals(perClass.paper.mvtec, { iAuroc: 98.5, pAuroc: 97.8 });
    assertEquals(row("joint+ccl").runs, ["rd_joint-ccl_seed0"]);
    assertEquals(row("joint+ccl").metrics.mAD.sd, null);
    assertEquals(summary.missing.map((m) => m.name), ["rd_joint-ccl_seed1"]);

    const stages = row("continual").stages!;
    assertEquals(stages.map((s) => [s.className, s.trainImages, s.replayed]), [
      ["pill", 72, 0],
      ["screw", 80, 8],
      ["woven", 88, 16],
    ]);
    assertAlmostEquals(stages[2].perClass.screw.iAuroc.mean!, 0.75, 1e-12);
    assertAlmostEquals(stages[2].perClass.screw.pAuroc.mean!, 0.375, 1e-12);
    assertEquals(stages[2].perClass.screw.iAuroc.values.length, 2);
    assertEquals(row("joint").stages, undefined);
    assertEquals(summary.settings.order, ORDER);
    assertEquals(summary.settings.commits, ["abcdef0"]);
    assertEquals(summary.runs.length, 9);
    assertEquals(summary.notes.length, 1);
    assertStringIncludes(summary.notes[0], "`clipNorm`");
    assertEquals(summary.runs.find((r) => r.name === "rd_joint_seed1")?.mean.aupro, 0.8);

    const markdown = strategiesMarkdown(summary);
    assertStringIncludes(
      markdown,
      "| RD | one-for-one | 0, 1 | 70.0 ± 14.1 | 70.0 ± 14.1 | 70.0 ± 14.1 | 70.0 ± 14.1 | " +
        "20 ± 14 | 98.5 / 97.8 | 94.0 / 97.2 |",
    );
    assertStringIncludes(markdown, "| RD | joint+CCL | 0 (1/2) | 60.0 |");
    assertStringIncludes(markdown, "| 3 | woven | 88 (16) | 75 / 38 | 75 / 38 | 75 / 38 |");
    assertStringIncludes(markdown, "| rd_joint-ccl_seed1 | missing | not run yet |");

    const files = await writeStrategies(plan, summary);
    assertEquals(JSON.parse(await Deno.readTextFile(files.json)).rows.length, 5);
    assertEquals(await Deno.readTextFile(files.markdown), markdown);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("strategies table: seeds with different orders or a log without stages are errors", async () => {
  const stage = (className: string, index: number) => ({
    index,
    className,
    order: [],
    trainImages: 1,
    replayed: 0,
    perClass: { a: { iAuroc: 0.5, pAuroc: 0.5 } },
  });
  let message = "";
  try {
    summarizeStages([
      { name: "s0", stages: [stage("a", 0), stage("b", 1)] },
      { name: "s1", stages: [stage("b", 0), stage("a", 1)] },
    ]);
  } catch (error) {
    message = (error as Error).message;
  }
  assertStringIncludes(message, "different orders");

  const resultsDir = await Deno.makeTempDir({ prefix: "strategies_table_" });
  try {
    const plan = strategiesPlan({ ...DEFAULT_OPTIONS, methods: ["rd"], seeds: [0], resultsDir });
    await fakeRun(plan, "rd_sequential_seed0", 0.5, 1);
    await Deno.writeTextFile(join(resultsDir, "rd_sequential_seed0", "log.jsonl"), "{}\n");
    await assertRejects(() => collectStrategies(plan), Error, "no stage records");
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("strategies table: only keys added with their default make an older run current", () => {
  assertEquals(addedDefaultKeys({ epochs: 4 }, { epochs: 4, clipNorm: 0 }), ["clipNorm"]);
  assertEquals(addedDefaultKeys({ epochs: 4 }, { epochs: 4, clipNorm: 5 }), []);
  assertEquals(addedDefaultKeys({ epochs: 3 }, { epochs: 4, clipNorm: 0 }), []);
  assertEquals(
    addedDefaultKeys({ epochs: 4, data: { a: 1, b: 2 } }, { data: { b: 2, a: 1 }, epochs: 4 }),
    [],
  );
});
