import { assert, assertAlmostEquals, assertEquals, assertRejects } from "@std/assert";
import { fromFileUrl, join } from "@std/path";
import {
  renderSweep,
  runConfusabilitySweep,
  spread,
  sweepRows,
  type SweepRun,
  sweepRunName,
  type SweepSummary,
  sweepTable,
} from "../lib/experiment/sweep_confusability.ts";
import { sweepChartSpec } from "../lib/plots/sweep_chart.ts";
import { compileVegaLite, renderPng } from "../lib/plots/render.ts";

function run(level: number, seed: number, strategy: string, i: number, v?: number): SweepRun {
  return {
    level,
    seed,
    strategy,
    name: sweepRunName(level, seed, strategy),
    iAuroc: i,
    pAuroc: i - 0.05,
    mAD: i - 0.2,
    ...(v === undefined ? {} : { modelVMeasure: v }),
    trainSeconds: 1,
  };
}

const RUNS: SweepRun[] = [
  run(0, 0, "one-for-one", 0.9),
  run(0, 1, "one-for-one", 0.8),
  run(0, 0, "joint", 0.85, 0.99),
  run(0, 1, "joint", 0.87, 0.97),
  run(1, 0, "one-for-one", 0.7),
  run(1, 1, "one-for-one", 0.74),
  run(1, 0, "joint", 0.6, 0.7),
  run(1, 1, "joint", 0.62, 0.72),
];
const BACKBONE = new Map([[0, 0.97], [1, 0.72]]);

Deno.test("sweep rows: mean ± sample sd over seeds, per level and strategy", () => {
  assertEquals(spread([2]), { mean: 2, sd: 0, values: [2] });
  const rows = sweepRows(RUNS, BACKBONE, ["one-for-one", "joint", "joint+CCL"]);
  assertEquals(rows.map((r) => `${r.level}/${r.strategy}`), [
    "0/one-for-one",
    "0/joint",
    "1/one-for-one",
    "1/joint",
  ]);
  assertAlmostEquals(rows[0].iAuroc.mean, 0.85);
  assertAlmostEquals(rows[0].iAuroc.sd, Math.sqrt(0.005));
  assertEquals(rows[0].modelVMeasure, undefined);
  assertAlmostEquals(rows[1].modelVMeasure!.mean, 0.98);
  assertEquals(rows[3].backboneVMeasure, 0.72);
  assertEquals(sweepRunName(0.5, 1, "rd-joint"), "c0.5-s1-rd-joint");
});

Deno.test("sweep table and chart: every row shown, the spec compiles and renders", async () => {
  const rows = sweepRows(RUNS, BACKBONE, ["one-for-one", "joint"]);
  const summary = {
    startedAt: "2026-12-03T08:00:00.000Z",
    finishedAt: "2026-12-03T09:00:00.000Z",
    seconds: 3600,
    levels: [0, 1],
    seeds: [0, 1],
    dataSeed: 0,
    family: "confusable",
    backend: { name: "wasm" },
    config: { epochs: 4, imageSize: 64, backbone: "small_resnet", batchSize: 16 },
    separability: [],
    runs: RUNS,
    rows,
  } as unknown as SweepSummary;
  const table = sweepTable(summary);
  const single = sweepTable({
    ...summary,
    rows: sweepRows(RUNS.slice(0, 1), BACKBONE, ["one-for-one"]),
  });
  assert(single.includes("| 90.0 (1 seed) |"), single);
  assert(table.includes("| 0 | 0.970 | one-for-one | 85.0 ± 7.1 |"), table);
  assert(
    table.includes("| 1 | 0.720 | joint | 61.0 ± 1.4 | 56.0 ± 1.4 | 41.0 ± 1.4 | 0.710 ± 0.014 |"),
    table,
  );
  const spec = sweepChartSpec(rows);
  compileVegaLite(spec);
  const values = (spec as { data: { values: Array<{ panel: string }> } }).data.values;
  // Two panels (I-AUROC, P-AUROC) for every row, the V-measure panel for joint rows only.
  assertEquals(values.length, rows.length * 2 + 2);
  const png = await renderPng(spec, { scale: 1 });
  assertEquals([...png.slice(1, 4)], [0x50, 0x4e, 0x47]);
  assert(png.length > 5000, `PNG of ${png.length} bytes looks empty`);

  // A finished sweep re-rendered from its sweep.json keeps its runs and times.
  const dir = await Deno.makeTempDir({ prefix: "sweep_render_" });
  try {
    const separability = [{ level: 0, vMeasure: 0.97 }, { level: 1, vMeasure: 0.72 }];
    await Deno.writeTextFile(
      join(dir, "sweep.json"),
      JSON.stringify({ ...summary, rows: [], separability }),
    );
    const rendered = await renderSweep(dir, "made in a test");
    assertEquals(rendered.rows, rows);
    assertEquals(rendered.startedAt, summary.startedAt);
    assert((await Deno.readTextFile(join(dir, "table.md"))).includes("Notes: made in a test"));
    assert((await Deno.stat(join(dir, "sweep_chart.png"))).size > 5000);
    await assertRejects(() => renderSweep(join(dir, "nowhere")), Error, "cannot read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweep: bad levels and seeds fail before any work", async () => {
  await assertRejects(() => runConfusabilitySweep({ levels: [0, 1.5] }), Error, "in [0, 1]");
  await assertRejects(() => runConfusabilitySweep({ levels: [] }), Error, "no confusability");
  await assertRejects(() => runConfusabilitySweep({ seeds: [0, 0] }), Error, "seeds repeat");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/sweep_confusability.ts", "--levels", "0,x"],
    cwd: fromFileUrl(new URL("..", import.meta.url)),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 1);
  assert(new TextDecoder().decode(out.stderr).includes("--levels takes a comma-separated list"));
});
