import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { dirname, join } from "@std/path";
import sharp from "sharp";
import {
  DatasetError,
  detectLayout,
  readDataset,
  readMantaDataset,
  sampleSheet,
  UNION_MANIFEST,
  unionDatasets,
  writeUnionManifest,
} from "../lib/data/mod.ts";
import type { Dataset } from "../lib/data/mod.ts";

/** A five-view montage as MANTA ships it: five square views side by side. */
async function writeMontage(path: string, view = 8, value = 120): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = new Uint8Array(view * 5 * view * 3).fill(value);
  await sharp(data, { raw: { width: view * 5, height: view, channels: 3 } }).png().toFile(path);
}

async function writeMontageMask(path: string, view = 8): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = new Uint8Array(view * 5 * view);
  data.fill(255, 0, view * 5); // top row of every view
  await sharp(data, { raw: { width: view * 5, height: view, channels: 1 } })
    .toColourspace("b-w").png().toFile(path);
}

/** MANTA layout: domains holding MVTec-layout classes, masks named like their images. */
async function makeManta(root: string, classes: Record<string, string[]>): Promise<void> {
  for (const [domain, names] of Object.entries(classes)) {
    for (const name of names) {
      const dir = join(root, domain, name);
      await writeMontage(join(dir, "train/good/000.png"));
      await writeMontage(join(dir, "train/good/001.png"));
      await writeMontage(join(dir, "test/good/000.png"));
      await writeMontage(join(dir, "test/crack/000.png"));
      await writeMontageMask(join(dir, "ground_truth/crack/000.png"));
    }
  }
}

/** MVTec layout with the given classes. */
async function makeMvtec(root: string, classes: string[]): Promise<void> {
  for (const name of classes) {
    await writeMontage(join(root, name, "train/good/000.png"));
    await writeMontage(join(root, name, "test/good/000.png"));
    await writeMontage(join(root, name, "test/hole/000.png"));
    await writeMontageMask(join(root, name, "ground_truth/hole/000_mask.png"));
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_manta_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("MANTA: domains of MVTec-layout classes read as one dataset", async () => {
  await withTempDir(async (root) => {
    await makeManta(root, { agriculture: ["maize", "wheat"], mechanics: ["gear"] });
    assertEquals(await detectLayout(root), "manta");
    const ds = await readDataset(root);
    assertEquals(ds.layout, "manta");
    assertEquals(ds.classes, ["gear", "maize", "wheat"]);
    assertEquals(ds.records.length, 3 * 4);
    const anomalous = ds.records.filter((r) => r.label === 1);
    assertEquals(anomalous.length, 3);
    for (const r of anomalous) {
      assertEquals(r.defect, "crack");
      assert(r.maskPath?.endsWith(join("ground_truth", "crack", "000.png")), r.maskPath);
    }
    const subset = await readMantaDataset(root, { classes: ["gear"] });
    assertEquals(subset.classes, ["gear"]);
    assertEquals(subset.records.length, 4);
  });
});

Deno.test("MANTA: a class name in two domains, a missing mask, an unknown class are errors", async () => {
  await withTempDir(async (root) => {
    await makeManta(root, { agriculture: ["maize"], groceries: ["maize"] });
    const twice = await assertRejects(() => readMantaDataset(root), DatasetError);
    assertStringIncludes(twice.message, 'class "maize" is in two domains');
  });
  await withTempDir(async (root) => {
    await makeManta(root, { medicine: ["capsule"] });
    await Deno.remove(join(root, "medicine/capsule/ground_truth/crack/000.png"));
    const noMask = await assertRejects(() => readMantaDataset(root), DatasetError);
    assertStringIncludes(noMask.message, "has no mask");
    assertStringIncludes(noMask.message, join("capsule", "test", "crack", "000.png"));
    await assertRejects(() => readMantaDataset(root, { classes: ["nope"] }), DatasetError);
  });
});

Deno.test("union: class ids stay distinct across datasets, also through a manifest", async () => {
  await withTempDir(async (dir) => {
    await makeMvtec(join(dir, "mvtec"), ["bottle", "screw"]);
    await makeMvtec(join(dir, "mpdd"), ["screw"]);
    const union = join(dir, "all");
    await writeUnionManifest(union, { mvtec: join(dir, "mvtec"), mpdd: join(dir, "mpdd") });
    assertEquals(await detectLayout(union), "union");
    const all = await readDataset(union);
    assertEquals(all.layout, "union");
    assertEquals(all.classes, ["mpdd/screw", "mvtec/bottle", "mvtec/screw"]);
    assertEquals(all.records.length, 9);
    const screws = all.records.filter((r) => r.className.endsWith("/screw"));
    assertEquals(new Set(screws.map((r) => r.className)).size, 2);
    // Files are untouched: each record still points into its own dataset.
    assert(screws.some((r) => r.imagePath.includes(join(dir, "mpdd"))));

    const some = await readDataset(union, { classes: ["mvtec/screw"] });
    assertEquals(some.classes, ["mvtec/screw"]);
    const stray = await assertRejects(
      () => readDataset(union, { classes: ["visa/candle"] }),
      DatasetError,
    );
    assertStringIncludes(stray.message, "names no dataset of the union");
  });
});

Deno.test("union: bad manifests and duplicate part names are errors naming the file", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, UNION_MANIFEST), '{"datasets": {}}');
    const empty = await assertRejects(() => readDataset(dir), DatasetError);
    assertStringIncludes(empty.message, UNION_MANIFEST);
  });
  const ds: Dataset = {
    name: "d",
    root: "/d",
    layout: "mvtec",
    classes: ["a"],
    records: [
      { imagePath: "/d/1.png", className: "a", split: "train", defect: "good", label: 0 },
      { imagePath: "/d/2.png", className: "a", split: "test", defect: "good", label: 0 },
    ],
  };
  const twice = () =>
    unionDatasets([{ name: "x", dataset: ds }, { name: "x", dataset: ds }], { root: "/u" });
  assertStringIncludes(
    (() => {
      try {
        twice();
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })(),
    'names dataset "x" twice',
  );
  try {
    unionDatasets([{ name: "a/b", dataset: ds }], { root: "/u" });
    throw new Error("a part name with the separator was accepted");
  } catch (e) {
    assert(e instanceof DatasetError, String(e));
  }
});

Deno.test("sampleSheet: one tile per class and row, mask contours; an unknown row is an error", async () => {
  await withTempDir(async (root) => {
    await makeManta(root, { agriculture: ["maize", "wheat"] });
    const ds = await readDataset(root);
    const png = await sampleSheet(ds, {
      rows: [{ split: "train", defect: "good" }, { split: "test", defect: "crack" }],
      tile: 32,
    });
    const meta = await sharp(png).metadata();
    assertEquals(meta.format, "png");
    assertEquals(meta.width, 150 + 2 * (32 + 4));
    assertEquals(meta.height, 22 + 2 * (32 + 4));
    const jpeg = await sampleSheet(ds, { tile: 32, format: "jpeg" });
    assertEquals((await sharp(jpeg).metadata()).format, "jpeg");
    await assertRejects(
      () => sampleSheet(ds, { rows: [{ split: "test", defect: "scratch" }] }),
      RangeError,
      'defect "scratch"',
    );
  });
});
