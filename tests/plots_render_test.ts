import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { join } from "@std/path";
import sharp from "sharp";
import {
  Chart,
  chart,
  compileVegaLite,
  JUPYTER_DISPLAY,
  PngImage,
  renderPng,
  renderSvg,
  VEGA_LITE_MIME,
  type VegaLiteSpec,
  writeChart,
} from "../lib/plots/mod.ts";

const bars: VegaLiteSpec = {
  width: 120,
  height: 80,
  title: "bars",
  data: { values: [{ a: "x", b: 1 }, { a: "y", b: 3 }] },
  mark: "bar",
  encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
};

Deno.test("renderSvg and renderPng: the PNG is the SVG's size times the scale", async () => {
  const svg = await renderSvg(bars);
  const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]);
  const height = Number(svg.match(/<svg[^>]* height="(\d+)"/)![1]);
  assert(width > 120 && height > 80, `axes add room: ${width}x${height}`);
  const png = await renderPng(bars, { scale: 2 });
  const meta = await sharp(png).metadata();
  assertEquals([meta.format, meta.width, meta.height], ["png", 2 * width, 2 * height]);
});

Deno.test("compileVegaLite: bad specs are clear errors", () => {
  assertThrows(() => compileVegaLite([] as never), TypeError, "JSON object");
  assertThrows(
    () => compileVegaLite({ $schema: "https://vega.github.io/schema/vega-lite/v4.json", ...bars }),
    TypeError,
    "v5",
  );
  assertThrows(() => compileVegaLite({ mark: "nonsense" } as never), TypeError, "cannot compile");
});

Deno.test("writeChart writes the spec, the SVG and the PNG", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = await writeChart(bars, join(dir, "sub", "bars"), { scale: 1 });
    const spec = JSON.parse(await Deno.readTextFile(files.json));
    assertStringIncludes(spec.$schema, "vega-lite/v5");
    assertStringIncludes(await Deno.readTextFile(files.svg), "<svg");
    assert((await Deno.stat(files.png)).size > 100);
    assertEquals([...Deno.readDirSync(join(dir, "sub"))].length, 3, "no temp files left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Chart: the Jupyter bundle carries Vega-Lite v5 and a PNG fallback", async () => {
  const c = await chart(bars);
  assert(c instanceof Chart);
  const bundle = c[JUPYTER_DISPLAY]();
  assertEquals(bundle[VEGA_LITE_MIME], bars);
  const png = Uint8Array.from(atob(bundle["image/png"] as string), (ch) => ch.charCodeAt(0));
  assertEquals((await sharp(png).metadata()).format, "png");
  assertEquals(bundle["text/plain"], "Chart(bars)");
  assertEquals(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
});

Deno.test("PngImage: rejects bytes that are not a PNG", async () => {
  assertThrows(() => new PngImage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), TypeError, "PNG");
  const png = await renderPng(bars, { scale: 1 });
  assert(typeof new PngImage(png)[JUPYTER_DISPLAY]()["image/png"] === "string");
  await assertRejects(() => renderPng(bars, { scale: 0 }), RangeError, "scale");
});
