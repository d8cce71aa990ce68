import { assert, assertEquals, assertThrows } from "@std/assert";
import { resolveConfig } from "../lib/experiment/config.ts";
import { parseCli } from "../lib/experiment/cli.ts";
import { formatDuration, formatProgressLine } from "../lib/experiment/progress.ts";
import { comparisonTable, formatPercent } from "../lib/experiment/table.ts";
import { defectBreakdown, meanByDefect } from "../lib/experiment/defect_breakdown.ts";

Deno.test("progress line shows fraction, rate, remaining time and fields", () => {
  const line = formatProgressLine("epoch 1", 5, 10, 2000, { loss: 0.12345 });
  assertEquals(
    line,
    "epoch 1 [############------------] 5/10 50% 2.50 it/s 00:02<00:02 loss=0.1235",
  );
  assertEquals(formatDuration(3_725_000), "1:02:05");
  assertEquals(formatDuration(NaN), "--:--");
});

Deno.test("comparison table puts runs side by side per class and mean", () => {
  const a = { perClass: { x: { m: 0.5 }, y: { m: 1 } }, mean: { m: 0.75 } };
  const b = { perClass: { x: { m: 0.25 }, y: { m: NaN } }, mean: { m: NaN } };
  const table = comparisonTable([{ label: "A", result: a }, { label: "B", result: b }], [[
    "m",
    "Metric",
  ]]);
  assertEquals(
    table,
    "Each cell: A / B (%).\n\n| class | Metric |\n|---|---|\n| x | 50.0 / 25.0 |\n" +
      "| y | 100.0 / n/a |\n| **mean** | 75.0 / n/a |\n",
  );
  assertEquals(formatPercent(0.9876), "98.8");
});

Deno.test("config: defaults, merge and validation", () => {
  const config = resolveConfig({ epochs: 3, data: { classes: ["a"] } });
  assertEquals(config.epochs, 3);
  assertEquals(config.data.classes, ["a"]);
  assertEquals(config.method, "rd");
  assertThrows(
    () => resolveConfig({ batchSize: 0, name: "a b" }),
    Error,
    "batchSize must be a positive integer",
  );
});

Deno.test("cli: flags become a config; --ccl turns CCL on; unknown flags are refused", async () => {
  const { config, flags } = await parseCli([
    "--name",
    "x",
    "--ccl",
    "--ccl-window",
    "0",
    "--epochs",
    "4",
    "--classes",
    "a,b",
    "--resume",
  ]);
  assertEquals(config.name, "x");
  assertEquals(config.ccl, { window: 0 });
  assertEquals(config.epochs, 4);
  assertEquals(config.data?.classes, ["a", "b"]);
  assert(flags.resume);
  let refused = false;
  try {
    await parseCli(["--epochz", "3"]);
  } catch (error) {
    refused = String(error).includes("--epochz");
  }
  assert(refused);
});

Deno.test("defect breakdown: I-AUROC of each defect against the class's normal images", () => {
  const image = (className: string, defect: string, score: number) => ({
    image: `${className}/${defect}/${score}.png`,
    className,
    defect,
    label: (defect === "good" ? 0 : 1) as 0 | 1,
    score,
  });
  const breakdown = defectBreakdown([
    image("a", "good", 0.1),
    image("a", "good", 0.3),
    image("a", "scratch", 0.5),
    image("a", "foreign_class", 0.2),
    image("b", "good", 0.1),
    image("b", "foreign_class", 0.4),
  ]);
  assertEquals(breakdown.a.scratch, { iAuroc: 1, images: 1 });
  assertEquals(breakdown.a.foreign_class, { iAuroc: 0.5, images: 1 });
  assertEquals(breakdown.b.foreign_class, { iAuroc: 1, images: 1 });
  assertEquals(meanByDefect(breakdown), { foreign_class: 0.75, scratch: 1 });
});
