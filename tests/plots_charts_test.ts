import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "@std/path";
import sharp from "sharp";
import {
  colorMapLut,
  curvesChart,
  embeddingChart,
  f1Threshold,
  heatmapChart,
  lossChart,
  maskContour,
  metricBarsChart,
  metricDeltaChart,
  overlayGrid,
  parseLog,
  renderPng,
  renderSvg,
  rocAndPr,
  type VegaLiteSpec,
  vMeasureChart,
} from "../lib/plots/mod.ts";

const classes = ["grain", "pill", "screw"];
const strategies = ["one-for-one", "joint", "joint+CCL"];
const images = classes.flatMap((className, c) =>
  Array.from(
    { length: 8 },
    (_, i) => ({ className, label: i % 2, score: (i * 7 + c) % 5 / 5 + (i % 2) * 0.3 }),
  )
);

const specs: Record<string, VegaLiteSpec> = {
  embedding: embeddingChart(
    images.map((im, i) => ({
      x: i % 5,
      y: im.score,
      className: im.className,
      defect: im.label ? "hole" : "good",
    })),
    { title: "embedding" },
  ),
  heatmap: heatmapChart(classes, ["k0", "k1", "k2"], [[3, 1, 0], [0, 4, 0], [1, 0, 3]], {
    title: "heatmap",
    rowTitle: "class",
    columnTitle: "cluster",
  }),
  bars: metricBarsChart(
    classes.flatMap((className) =>
      strategies.map((strategy, s) => ({
        className,
        strategy,
        metric: "I-AUROC",
        mean: 0.6 + s / 10,
        sd: 0.02,
      }))
    ),
    { title: "bars" },
  ),
  vMeasure: vMeasureChart([
    { strategy: "joint", seed: 0, vMeasure: 0.6 },
    { strategy: "joint", seed: 1, vMeasure: 0.7 },
    { strategy: "joint+CCL", seed: 0, vMeasure: 0.9 },
  ]),
  roc: curvesChart(strategies.map((strategy) => ({ strategy, images })), "roc"),
  pr: curvesChart(strategies.map((strategy) => ({ strategy, images })), "pr"),
  loss: lossChart([
    {
      strategy: "joint",
      log: [1, 2, 3].map((epoch) => ({ unit: "joint", epoch, losses: { rd: 1 / epoch } })),
    },
  ]),
  deltas: metricDeltaChart({
    base: "joint",
    other: "joint+CCL",
    classes,
    perClass: Object.fromEntries(
      classes.map((c, i) => [c, { iAuroc: i / 20 - 0.05, pAuroc: 0.01 }]),
    ),
    mean: { iAuroc: 0, pAuroc: 0.01 },
  }, ["iAuroc", "pAuroc"]),
};

for (const [name, spec] of Object.entries(specs)) {
  Deno.test(`chart "${name}" compiles and renders to a PNG of the SVG's size`, async () => {
    const svg = await renderSvg(spec);
    const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]);
    const height = Number(svg.match(/<svg[^>]* height="(\d+)"/)![1]);
    assert(width > 100 && height > 80, `${name}: ${width}x${height}`);
    const meta = await sharp(await renderPng(spec, { scale: 1 })).metadata();
    assertEquals([meta.width, meta.height], [width, height]);
    const stats = await sharp(await renderPng(spec, { scale: 1 })).stats();
    assert(stats.channels[0].min < 100, `${name}: the PNG has dark marks (text, axes)`);
  });
}

Deno.test("rocAndPr: points of a hand-checked case, ties share a threshold", () => {
  const { roc, pr } = rocAndPr([0.9, 0.1, 0.8, 0.3, 0.3], [1, 0, 1, 0, 1]);
  assertEquals(roc.map((p) => [p.x, p.y]), [[0, 0], [0, 1 / 3], [0, 2 / 3], [0.5, 1], [1, 1]]);
  assertEquals(pr.map((p) => [p.x, p.y]), [[1 / 3, 1], [2 / 3, 1], [1, 0.75], [1, 0.6]]);
  assertThrows(() => rocAndPr([0.1, 0.2], [1, 1]), RangeError, "needs normal and anomalous");
});

Deno.test("parseLog: a bad line names the file and line", () => {
  assertEquals(parseLog('{"unit":"a","epoch":1,"losses":{"rd":1}}\n', "log.jsonl").length, 1);
  assertThrows(() => parseLog("{}\n{", "x/log.jsonl"), TypeError, "x/log.jsonl:1");
  assertThrows(
    () => parseLog('{"unit":"a","epoch":1,"losses":{}}\n{', "x/log.jsonl"),
    SyntaxError,
    "x/log.jsonl:2",
  );
});

Deno.test("heatmapChart: a table of the wrong shape is an error", () => {
  assertThrows(
    () => heatmapChart(["a"], ["k0", "k1"], [[1]], { title: "", rowTitle: "", columnTitle: "" }),
    RangeError,
    "1 x 2",
  );
});

Deno.test("overlay: colour maps, contours, F1 threshold and the grid's size", async () => {
  const lut = colorMapLut("inferno");
  assertEquals(lut.length, 768);
  assert(lut[0] + lut[1] + lut[2] < 60 && lut[765] + lut[766] + lut[767] > 500, "dark to bright");
  const side = 8;
  const mask = new Uint8Array(side * side);
  for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) mask[y * side + x] = 1;
  const contour = maskContour(mask, side);
  assertEquals(contour.reduce((a, b) => a + b, 0), 12, "the 4x4 square's border");
  const map = Float32Array.from(mask, (m, i) => m * 0.8 + (i % 3) * 0.05);
  const threshold = f1Threshold([map], [mask]);
  assert(threshold >= 0.1 && threshold < 0.8, `separates inside from outside: ${threshold}`);
  const dir = await Deno.makeTempDir();
  const imagePath = join(dir, "image.png");
  await sharp({ create: { width: side, height: side, channels: 3, background: "#808080" } }).png()
    .toFile(imagePath);
  const png = await overlayGrid(
    [{ imagePath, map, mask, label: "hole\nscore 0.8" }, { imagePath, map, mask, label: "good" }],
    { mapSize: side, threshold: 0.5, tile: 64, title: "pill" },
  );
  const meta = await sharp(png).metadata();
  assertEquals([meta.format, meta.width, meta.height], ["png", 120 + 4 * 70 + 10, 66 + 2 * 70]);
  await assertRejects(
    () =>
      overlayGrid([{ imagePath, map: new Float32Array(3), mask, label: "" }], {
        mapSize: side,
        threshold: 0,
      }),
    RangeError,
    "expected 8x8",
  );
  await Deno.remove(dir, { recursive: true });
});
