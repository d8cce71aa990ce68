import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { type PartialConfig, resolveConfig } from "../lib/experiment/config.ts";
import type { RunOptions, RunResult } from "../lib/experiment/run_experiment.ts";
import type { MetricSet } from "../lib/metrics/metric_names.ts";
import {
  embeddedPreset,
  formatCell,
  MAIN_TABLE,
  paperPreset,
  parseDataRoots,
  planTable,
  reproduceTable,
  type RunOutcome,
  sideBySide,
  sideBySideMarkdown,
} from "../lib/reproduce/mod.ts";

const WEIGHTS = "/weights/wrn50.safetensors";
const ALL4 = { mvtec: "/d/mvtec", visa: "/d/visa", btad: "/d/btad", realiad: "/d/realiad" };

function names(plan: { runs: Array<{ name: string }> }): string[] {
  return plan.runs.map((r) => r.name).sort();
}

Deno.test("plan main on MVTec AD only: exactly its five runs, with the paper's settings", () => {
  const plan = planTable({
    table: "main",
    roots: { mvtec: "/d/mvtec" },
    preset: paperPreset(WEIGHTS),
  });
  assertEquals(plan.mode, "real");
  assertEquals(names(plan), [
    "destseg-joint-ccl-mvtec",
    "destseg-joint-mvtec",
    "rd-joint-ccl-mvtec",
    "rd-joint-mvtec",
    "rd-one-for-one-mvtec",
  ]);
  const byName = new Map(plan.runs.map((r) => [r.name, r.config]));
  const ccl = byName.get("rd-joint-ccl-mvtec")!;
  assertEquals(ccl.imageSize, 256);
  assertEquals(ccl.backbone, `wide_resnet50_2:${WEIGHTS}`);
  assertEquals(ccl.batchSize, 16);
  assertEquals(ccl.learningRate, 5e-3);
  assertEquals(ccl.epochs, 200);
  assertEquals(ccl.strategy, "joint");
  assertEquals(ccl.clipNorm, 5);
  assertEquals(ccl.data, { root: "/d/mvtec" });
  assertEquals(ccl.ccl, {
    temperatureGlobal: 0.05,
    temperatureLocal: 0.05,
    lambdaGlobal: 1,
    lambdaLocal: 1,
    projectorLearningRate: 1e-3,
  });
  assertEquals(ccl.methodOptions, { blurSigma: 4, mapReduction: "mean" });
  assertEquals(byName.get("rd-one-for-one-mvtec")!.strategy, "per-class");
  assertEquals(byName.get("rd-joint-mvtec")!.ccl, null);
  assertEquals(byName.get("rd-joint-mvtec")!.clipNorm, 0);
  assertEquals(byName.get("destseg-joint-mvtec")!.methodOptions, {});
  // Every other column is skipped with the data it needs, never planned.
  const visa = plan.cells.filter((c) => c.target === "visa");
  assert(visa.length > 0 && visa.every((c) => c.runs.length === 0));
  assertEquals(visa[0].skipped, "needs --data visa");
  const allInAll = plan.cells.find((c) => c.target === "all-in-all")!;
  assertEquals(allInAll.skipped, "needs --data visa,btad,realiad");
  assertEquals(plan.unions, []);
  // The resolved configs are valid for the runner (RD's; DeSTSeg's depends on the build).
  resolveConfig(ccl);
});

Deno.test("plan main on four datasets: per-dataset runs plus the All-in-all union", () => {
  const plan = planTable({
    table: "main",
    roots: ALL4,
    preset: paperPreset(WEIGHTS, 100),
    cacheDir: "/c",
  });
  // RD: 3 strategies x 4 datasets + RD+CCL All-in-all; DeSTSeg: 2 x (MVTec AD, VisA).
  assertEquals(plan.runs.length, 12 + 1 + 4);
  assertEquals(new Set(names(plan)).size, plan.runs.length);
  const union = plan.runs.find((r) => r.name === "rd-joint-ccl-all-in-all")!;
  assertEquals(union.config.data, { root: join("/c", "all-in-all") });
  assertEquals(union.config.epochs, 100);
  assertEquals(plan.unions, [{ dir: join("/c", "all-in-all"), datasets: ALL4 }]);
  // MANTA was not given: its cells are skipped, the rest planned.
  for (const cell of plan.cells) {
    assertEquals(cell.runs.length === 0, cell.target === "manta", `${cell.method} ${cell.target}`);
  }
});

Deno.test("plan strategies: every strategy on each dataset; the average column shares runs", () => {
  const plan = planTable({ table: "strategies", roots: ALL4, preset: paperPreset(WEIGHTS) });
  assertEquals(plan.runs.length, 2 * 5 * 4);
  const strategies = new Set(plan.runs.map((r) => r.config.strategy));
  assertEquals([...strategies].sort(), ["continual", "joint", "per-class", "sequential"]);
  const mvtec = plan.cells.find((c) =>
    c.method === "rd" && c.strategy === "sequential" && c.target === "mvtec"
  )!;
  const avg = plan.cells.find((c) =>
    c.method === "rd" && c.strategy === "sequential" && c.target === "avg4"
  )!;
  assertEquals(mvtec.runs, ["rd-sequential-mvtec"]);
  assertEquals(avg.runs, [
    "rd-sequential-mvtec",
    "rd-sequential-visa",
    "rd-sequential-btad",
    "rd-sequential-realiad",
  ]);
  // Only MVTec AD given: the RD MVTec row is planned, the averages are not (and DeSTSeg only
  // appears in the averages, so none of its runs is planned).
  const one = planTable({
    table: "strategies",
    roots: { mvtec: "/d/mvtec" },
    preset: paperPreset(WEIGHTS),
  });
  assertEquals(names(one), [
    "rd-continual-mvtec",
    "rd-joint-ccl-mvtec",
    "rd-joint-mvtec",
    "rd-one-for-one-mvtec",
    "rd-sequential-mvtec",
  ]);
});

Deno.test("plan mixed: 4 methods x 3 strategies on the 30-class union; needs all three", () => {
  const roots = { mvtec: "/d/mvtec", visa: "/d/visa", btad: "/d/btad" };
  const plan = planTable({ table: "mixed", roots, preset: paperPreset(WEIGHTS), cacheDir: "/c" });
  assertEquals(plan.runs.length, 12);
  assert(plan.runs.every((r) => r.target === "mixed"));
  assertEquals(plan.unions, [{ dir: join("/c", "mixed"), datasets: roots }]);
  assertEquals(
    new Set(plan.runs.map((r) => r.method)),
    new Set(["rd", "destseg", "draem", "dmad"]),
  );
  const partial = planTable({
    table: "mixed",
    roots: { mvtec: "/d" },
    preset: paperPreset(WEIGHTS),
  });
  assertEquals(partial.runs, []);
  assert(partial.cells.every((c) => c.skipped === "needs --data visa,btad"));
});

Deno.test("plan without data: the embedded stand-in, one run per row, titled as such", () => {
  const plan = planTable({ table: "main", roots: {}, preset: embeddedPreset(true) });
  assertEquals(plan.mode, "embedded");
  assert(plan.title.startsWith("NOT a reproduction"), plan.title);
  assertEquals(names(plan), [
    "destseg-joint-ccl-synthetic",
    "destseg-joint-synthetic",
    "rd-joint-ccl-synthetic",
    "rd-joint-synthetic",
    "rd-one-for-one-synthetic",
  ]);
  for (const run of plan.runs) {
    assertEquals(run.config.data, { classes: ["pill", "screw", "woven"] });
    assertEquals(run.config.imageSize, 64);
    assertEquals(run.config.backbone, "small_resnet");
  }
  assert(plan.cells.every((c) => c.oursOn === "synthetic (stand-in)"));
  assertEquals(
    plan.cells.find((c) => c.method === "rd" && c.strategy === "joint")!.target,
    "mvtec",
  );
});

Deno.test("--data parsing and the paper preset's weights are checked", () => {
  assertEquals(parseDataRoots("mvtec=/a, visa=/b"), { mvtec: "/a", visa: "/b" });
  assertEquals(parseDataRoots(""), {});
  assertThrows(() => parseDataRoots("mvtech=/a"), Error, 'unknown dataset "mvtech"');
  assertThrows(() => parseDataRoots("mvtec=/a,mvtec=/b"), Error, "given twice");
  assertThrows(() => parseDataRoots("mvtec"), Error, "gives no path");
  assertThrows(() => paperPreset(""), Error, "--weights");
  assertThrows(
    () => planTable({ table: "nope", roots: {}, preset: embeddedPreset() }),
    Error,
    "unknown table",
  );
});

function metrics(iAuroc: number, pAuroc: number, aupro = NaN): MetricSet {
  return { iAuroc, iAp: 0, iF1Max: 0, pAuroc, pAp: 0, pF1Max: 0, aupro, mAD: 0 };
}

Deno.test("side by side: ours, the paper's and the difference, formatted; gaps say why", () => {
  const plan = planTable({ table: "main", roots: ALL4, preset: paperPreset(WEIGHTS) });
  const outcomes = new Map<string, RunOutcome>();
  for (const run of plan.runs) {
    outcomes.set(
      run.name,
      run.method === "destseg"
        ? { status: "unavailable", reason: "not available in this build: unknown method" }
        : { status: "done", mean: metrics(0.98, 0.97, 0.9), resumed: false },
    );
  }
  const rows = sideBySide(plan, outcomes);
  assertEquals(rows.length, MAIN_TABLE.cells.length * 3);
  const cclMvtecI = rows.find((r) =>
    r.method === "rd" && r.strategy === "joint+CCL" && r.paperOn === "MVTec AD" &&
    r.metric === "iAuroc"
  )!;
  assertEquals(cclMvtecI.paper, 99.3);
  assertEquals(cclMvtecI.ours, 98);
  assertEquals(formatCell(cclMvtecI.difference, true), "-1.3");
  const destseg = rows.find((r) => r.method === "destseg")!;
  assertEquals(destseg.ours, undefined);
  assertStringIncludes(destseg.note!, "not available");
  const markdown = sideBySideMarkdown(plan, rows);
  assertStringIncludes(markdown, "| RD | joint+CCL | MVTec AD | MVTec AD | 98.0 | 99.3 | -1.3 |");
  // The paper reports no AUPRO for RD joint: n/a, and no difference.
  assertStringIncludes(
    markdown,
    "| RD | joint | MVTec AD | MVTec AD | 98.0 | 96.5 | +1.5 | 97.0 | 95.8 | +1.2 | 90.0 | n/a | — |",
  );
  assertStringIncludes(markdown, "| RD | joint | MANTA | MANTA | — | n/a | — |");
  assertStringIncludes(markdown, "| needs --data manta |");
});

Deno.test("reproduceTable: runs what is runnable, resumes from finished runs, writes the table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_reproduce_" });
  try {
    const plan = planTable({ table: "main", roots: {}, preset: embeddedPreset(true) });
    const called: string[] = [];
    const runner = async (config: PartialConfig, options: RunOptions): Promise<RunResult> => {
      called.push(config.name!);
      assertEquals(options.resume, true);
      const resolved = resolveConfig(config);
      const result = {
        config: resolved,
        backend: { name: "fake" },
        mean: metrics(0.9, 0.95, 0.8),
      } as unknown as RunResult;
      const runDir = join(options.resultsDir!, config.name!);
      await Deno.mkdir(runDir, { recursive: true });
      await Deno.writeTextFile(join(runDir, "metrics.json"), JSON.stringify(result));
      return result;
    };
    const runnable = plan.runs.filter((run) => {
      try {
        resolveConfig(run.config);
        return true;
      } catch {
        return false;
      }
    }).map((r) => r.name);
    assert(runnable.includes("rd-joint-ccl-synthetic"));
    const first = await reproduceTable(plan, { resultsDir: dir, runner, log: () => {} });
    assertEquals(called, runnable);
    for (const run of first.runs) {
      if (run.status === "unavailable") {
        assertStringIncludes(run.reason!, "not available in this build");
      }
    }
    const table = await Deno.readTextFile(join(dir, "table.md"));
    assertStringIncludes(table, "# NOT a reproduction");
    assertStringIncludes(table, "**This is not a reproduction of the paper.**");
    assertStringIncludes(
      table,
      "| RD | joint+CCL | MVTec AD | synthetic (stand-in) | 90.0 | 99.3 | -9.3 |",
    );
    const png = await Deno.readFile(join(dir, "side_by_side.png"));
    assertEquals([...png.slice(1, 4)], [0x50, 0x4e, 0x47]);

    called.length = 0;
    const second = await reproduceTable(plan, {
      resultsDir: dir,
      runner,
      log: () => {},
      chart: false,
    });
    assertEquals(called, []);
    assertEquals(second.rows, first.rows);
    assert(second.runs.filter((r) => r.status === "done").every((r) => r.resumed));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
