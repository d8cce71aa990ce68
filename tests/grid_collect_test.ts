import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { join } from "@std/path";
import {
  collectGrid,
  expandGrid,
  type GridPlan,
  type GridSummary,
  localExecutor,
  meanAndSd,
  submitGrid,
  summaryMarkdown,
} from "../lib/grid/mod.ts";
import { METRIC_NAMES } from "../lib/metrics/metric_names.ts";

/** Writes a run's metrics.json as the runner would (the fields collect reads). */
async function fakeResult(plan: GridPlan, name: string, value: number, override = {}) {
  const run = plan.runs.find((r) => r.name === name)!;
  const mean = Object.fromEntries(METRIC_NAMES.map((m) => [m, value]));
  mean.pAp = NaN; // undefined metrics are NaN in results (null in JSON)
  await Deno.mkdir(join(plan.resultsDir, name), { recursive: true });
  await Deno.writeTextFile(
    join(plan.resultsDir, name, "metrics.json"),
    JSON.stringify({
      config: { ...run.config, ...override },
      mean,
      perClass: {},
      backend: { name: "wasm" },
      trainSeconds: 12,
    }),
  );
}

async function fakeFailure(plan: GridPlan, name: string) {
  const log = join(plan.gridDir, "logs", `slurm-5_${name.length}.out`);
  await Deno.mkdir(join(plan.gridDir, "logs"), { recursive: true });
  await Deno.mkdir(join(plan.gridDir, "state"), { recursive: true });
  const lines = Array.from({ length: 30 }, (_, i) => `joint epoch ${i + 1}/30 loss=0.5`);
  await Deno.writeTextFile(
    log,
    [...lines, "error: out of memory allocating 2 GB", "[grid] x: exit code 1", ""].join("\n"),
  );
  await Deno.writeTextFile(
    join(plan.gridDir, "state", `${name}.json`),
    JSON.stringify({
      executor: "slurm",
      jobId: "5_4",
      log,
      host: "node07",
      startedAt: "2026-12-01T10:00:00Z",
      finishedAt: "2026-12-01T11:00:00Z",
      exitCode: 1,
    }),
  );
}

Deno.test("collect: mean ± sd over seeds per row; failed, missing and stale runs named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-collect-" });
  const plan = expandGrid({
    name: "fixture",
    axes: { method: ["rd"], strategy: ["joint", "joint+ccl"], seed: [0, 1, 2] },
    fixed: { epochs: 2 },
  }, { resultsDir: join(dir, "results") });
  await fakeResult(plan, "rd_joint_seed0", 0.7);
  await fakeResult(plan, "rd_joint_seed1", 0.8);
  await fakeResult(plan, "rd_joint_seed2", 0.9);
  await fakeResult(plan, "rd_joint-ccl_seed0", 0.85);
  await fakeFailure(plan, "rd_joint-ccl_seed1");
  // rd_joint-ccl_seed2 never ran.
  const { summary, files } = await collectGrid(plan);
  assertEquals(summary.counts, {
    done: 4,
    running: 0,
    pending: 0,
    failed: 1,
    missing: 1,
    stale: 0,
  });
  assertEquals(summary.groupAxes, ["method", "strategy"]);
  const [joint, ccl] = summary.groups;
  assertEquals(joint.axes, { method: "rd", strategy: "joint" });
  assertEquals([joint.runs.length, joint.planned, ccl.runs.length, ccl.planned], [3, 3, 1, 3]);
  assert(Math.abs(joint.metrics.mAD.mean! - 0.8) < 1e-12);
  assert(Math.abs(joint.metrics.mAD.sd! - 0.1) < 1e-12);
  assertEquals(joint.metrics.pAp, { mean: null, sd: null, values: [] });
  assertEquals([ccl.metrics.iAuroc.mean, ccl.metrics.iAuroc.sd], [0.85, null]);

  const failed = summary.runs.find((r) => r.name === "rd_joint-ccl_seed1")!;
  assertEquals(failed.state, "failed");
  assertEquals(failed.reason, "exit code 1: error: out of memory allocating 2 GB");
  assertEquals(failed.logTail!.length, 15);
  assertEquals(failed.logTail!.at(-1), "[grid] x: exit code 1");
  const missing = summary.runs.find((r) => r.name === "rd_joint-ccl_seed2")!;
  assertEquals([missing.state, missing.reason], ["missing", "not run yet"]);

  const markdown = await Deno.readTextFile(files.markdown);
  assertEquals(markdown, summaryMarkdown(summary));
  assertStringIncludes(markdown, "4 of 6 runs done (1 failed, 1 missing)");
  assertStringIncludes(
    markdown,
    "| method | strategy | n | I-AUROC | I-AP | I-F1max | P-AUROC | P-AP | P-F1max | AUPRO | mAD |",
  );
  assertStringIncludes(
    markdown,
    "| rd | joint | 3/3 | 80.0 ± 10.0 | 80.0 ± 10.0 | 80.0 ± 10.0 | 80.0 ± 10.0 | — |",
  );
  assertStringIncludes(markdown, "| rd | joint+ccl | 1/3 | 85.0 | 85.0 |");
  assertStringIncludes(
    markdown,
    "| rd_joint-ccl_seed1 | failed | exit code 1: error: out of memory allocating 2 GB |",
  );
  assertStringIncludes(markdown, "| rd_joint-ccl_seed2 | missing | not run yet |");
  assertStringIncludes(markdown, "### rd_joint-ccl_seed1 (failed)");
  assertStringIncludes(markdown, "joint epoch 30/30 loss=0.5\nerror: out of memory");
  const json: GridSummary = JSON.parse(await Deno.readTextFile(files.json));
  assertEquals(json.runs.find((r) => r.name === "rd_joint_seed1")!.mean!.pAp, null);
  assertEquals(json.groups[0].metrics.iAuroc.values, [0.7, 0.8, 0.9]);
  const png = await Deno.readFile(files.plot!);
  assertEquals([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assertStringIncludes(
    await Deno.readTextFile(join(dir, "results", "plots", "summary.vl.json")),
    "mAD",
  );

  // A result made by another config is stale, and submit refuses to overwrite it.
  await fakeResult(plan, "rd_joint_seed2", 0.9, { epochs: 5 });
  const again = await collectGrid(plan);
  const stale = again.summary.runs.find((r) => r.name === "rd_joint_seed2")!;
  assertEquals(stale.state, "stale");
  assertStringIncludes(stale.reason!, "epochs: 5 vs 2");
  const error = await assertRejects(() =>
    submitGrid(plan, localExecutor(), { specPath: "s.json", log: () => {} })
  );
  assertStringIncludes(error.message, "1 runs have results from another config");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("collect: sample sd", () => {
  assertEquals(meanAndSd([]), { mean: null, sd: null, values: [] });
  assertEquals(meanAndSd([2]), { mean: 2, sd: null, values: [2] });
  assertEquals(meanAndSd([1, 3]).sd, Math.SQRT2);
});

Deno.test("local executor: a run that fails is collected with its log tail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-local-" });
  await Deno.mkdir(join(dir, "empty"));
  const plan = expandGrid({
    name: "broken",
    axes: { dataset: ["empty"], seed: [0] },
    datasets: { empty: { root: join(dir, "empty") } },
    fixed: { imageSize: 32, epochs: 1, backend: "cpu" },
  }, { resultsDir: join(dir, "results") });
  const lines: string[] = [];
  const report = await submitGrid(plan, localExecutor({ workers: 1, log: (l) => lines.push(l) }), {
    specPath: "s.json",
    log: (l) => lines.push(l),
  });
  assertEquals(report.failed, 1);
  assertMatch(lines.join("\n"), /1\/1 empty_seed0: failed \(exit 1\)/);
  const { summary } = await collectGrid(plan);
  const [run] = summary.runs;
  assertEquals(run.state, "failed");
  assertMatch(run.reason!, /^exit code 1: error: .*empty/);
  assertEquals(run.log, join(plan.gridDir, "logs", "local-empty_seed0.log"));
  assertEquals(run.logTail!.at(-1), "[grid] empty_seed0: exit code 1");
  assert(run.logTail![0].startsWith("[grid] empty_seed0: local, "));
  await Deno.remove(dir, { recursive: true });
});
