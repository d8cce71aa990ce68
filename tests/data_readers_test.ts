import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { basename, dirname, join } from "@std/path";
import sharp from "sharp";
import {
  anomaliesWithoutMask,
  DatasetError,
  detectLayout,
  parseCsv,
  readDataset,
  readFolderDataset,
  readMvtecDataset,
  readRealIadDataset,
  readVisaDataset,
  validateDataset,
} from "../lib/data/mod.ts";
import type { SampleRecord } from "../lib/data/mod.ts";

// ---------------------------------------------------------------------------------------------
// Fixture helpers: tiny images written with sharp (PNG/JPEG) or by hand (BMP).

async function writePng(path: string, width = 8, height = 8, value = 128): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = new Uint8Array(width * height * 3).fill(value);
  await sharp(data, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

async function writeMask(path: string, width = 8, height = 8): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = new Uint8Array(width * height);
  data.fill(255, 0, width * 2); // top two rows anomalous
  await sharp(data, { raw: { width, height, channels: 1 } }).toColourspace("b-w").png()
    .toFile(path);
}

/** A 24-bit bottom-up BMP, the kind BTAD ships. */
async function writeBmp(path: string, width = 8, height = 8, value = 90): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const stride = Math.ceil((width * 3) / 4) * 4;
  const bytes = new Uint8Array(54 + stride * height);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++) bytes[54 + y * stride + x] = value;
  }
  await Deno.writeFile(path, bytes);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_readers_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** MVTec AD layout: two classes, `_mask` suffix. */
async function makeMvtec(root: string): Promise<void> {
  for (const cls of ["bottle", "carpet"]) {
    await writePng(join(root, cls, "train/good/001.png"));
    await writePng(join(root, cls, "train/good/000.png"));
    await writePng(join(root, cls, "test/good/000.png"));
    for (const defect of ["broken", "hole"]) {
      for (const id of ["000", "001"]) {
        await writePng(join(root, cls, "test", defect, `${id}.png`));
        await writeMask(join(root, cls, "ground_truth", defect, `${id}_mask.png`));
      }
    }
  }
  await Deno.writeTextFile(join(root, "license.txt"), "fixture");
}

function names(records: SampleRecord[]): string[] {
  return records.map((r) =>
    `${r.className}/${r.split}/${r.defect}/${basename(r.imagePath)}:${r.label}:${
      r.maskPath ? basename(r.maskPath) : "-"
    }`
  );
}

// ---------------------------------------------------------------------------------------------
// MVTec AD, BTAD, MPDD

Deno.test("MVTec reader lists every image, sorted, with masks matched by stem", async () => {
  await withTempDir(async (root) => {
    await makeMvtec(root);
    const ds = await readMvtecDataset(root);
    assertEquals(ds.layout, "mvtec");
    assertEquals(ds.name, basename(root));
    assertEquals(ds.classes, ["bottle", "carpet"]);
    assertEquals(ds.records.length, 2 * (2 + 1 + 4));
    assertEquals(names(ds.records.filter((r) => r.className === "bottle")), [
      "bottle/train/good/000.png:0:-",
      "bottle/train/good/001.png:0:-",
      "bottle/test/broken/000.png:1:000_mask.png",
      "bottle/test/broken/001.png:1:001_mask.png",
      "bottle/test/good/000.png:0:-",
      "bottle/test/hole/000.png:1:000_mask.png",
      "bottle/test/hole/001.png:1:001_mask.png",
    ]);
    for (const r of ds.records.filter((r) => r.label === 1)) {
      assertEquals(basename(dirname(r.maskPath!)), r.defect);
    }
  });
});

Deno.test("MVTec reader reads a class subset and rejects unknown classes", async () => {
  await withTempDir(async (root) => {
    await makeMvtec(root);
    const ds = await readMvtecDataset(root, { classes: ["carpet"], validate: false });
    assertEquals(ds.classes, ["carpet"]);
    assert(ds.records.every((r) => r.className === "carpet"));
    const e = await assertRejects(
      () => readMvtecDataset(root, { classes: ["zipper"] }),
      DatasetError,
    );
    assertStringIncludes(e.message, 'class "zipper" not found');
    assertStringIncludes(e.message, "bottle, carpet");
  });
});

Deno.test("BTAD layout: ok/ko folders, BMP images, masks without _mask suffix", async () => {
  await withTempDir(async (root) => {
    await writeBmp(join(root, "01/train/ok/0000.bmp"));
    await writeBmp(join(root, "01/test/ok/0000.bmp"));
    await writeBmp(join(root, "01/test/ko/0000.bmp"));
    await writeBmp(join(root, "01/test/ko/0001.bmp"));
    await writeMask(join(root, "01/ground_truth/ko/0000.png"));
    await writeMask(join(root, "01/ground_truth/ko/0001.png"));
    const ds = await readDataset(root);
    assertEquals(ds.layout, "mvtec");
    assertEquals(ds.classes, ["01"]);
    assertEquals(names(ds.records), [
      "01/train/good/0000.bmp:0:-",
      "01/test/good/0000.bmp:0:-",
      "01/test/ko/0000.bmp:1:0000.png",
      "01/test/ko/0001.bmp:1:0001.png",
    ]);
  });
});

Deno.test("MVTec errors name the file: missing mask, orphan mask, size mismatch, corrupt image", async () => {
  await withTempDir(async (root) => {
    await makeMvtec(root);
    const mask = join(root, "bottle/ground_truth/hole/001_mask.png");
    await Deno.remove(mask);
    const missing = await assertRejects(() => readMvtecDataset(root), DatasetError);
    assertStringIncludes(missing.message, "anomalous test image has no mask");
    assertEquals(missing.path, join(root, "bottle/test/hole/001.png"));

    await writeMask(join(root, "bottle/ground_truth/hole/001_mask.png"), 8, 6); // wrong size
    const size = await assertRejects(() => readMvtecDataset(root), DatasetError);
    assertStringIncludes(size.message, "mask is 8x6");
    assertEquals(size.path, mask);
    // The fast listing does not open files; validation does.
    const listed = await readMvtecDataset(root, { validate: false });
    await assertRejects(() => validateDataset(listed), DatasetError, "mask is 8x6");

    await writeMask(mask);
    await writeMask(join(root, "bottle/ground_truth/hole/007_mask.png"));
    const orphan = await assertRejects(() => readMvtecDataset(root), DatasetError);
    assertStringIncludes(orphan.message, "mask matches no image");
    assertEquals(orphan.path, join(root, "bottle/ground_truth/hole/007_mask.png"));
    await Deno.remove(join(root, "bottle/ground_truth/hole/007_mask.png"));

    const corrupt = join(root, "carpet/train/good/000.png");
    await Deno.writeFile(corrupt, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const bad = await assertRejects(() => readMvtecDataset(root), DatasetError);
    assertStringIncludes(bad.message, "unreadable or corrupt image");
    assertEquals(bad.path, corrupt);
  });
});

Deno.test("MVTec errors: two masks for one image, empty class, stray file", async () => {
  await withTempDir(async (root) => {
    await makeMvtec(root);
    await writeMask(join(root, "carpet/ground_truth/broken/000.png"));
    await assertRejects(() => readMvtecDataset(root), DatasetError, "two masks match");
    await Deno.remove(join(root, "carpet/ground_truth/broken/000.png"));

    await Deno.writeTextFile(join(root, "carpet/test/good/notes.txt"), "x");
    await assertRejects(() => readMvtecDataset(root), DatasetError, "not an image file");
    await Deno.remove(join(root, "carpet/test/good/notes.txt"));

    for (const f of ["000.png", "001.png"]) await Deno.remove(join(root, "carpet/train/good", f));
    const empty = await assertRejects(() => readMvtecDataset(root), DatasetError);
    assertStringIncludes(empty.message, 'class "carpet" has no train images');
  });
});

Deno.test("MVTec error: class without test images", async () => {
  await withTempDir(async (root) => {
    await writePng(join(root, "screw/train/good/000.png"));
    await Deno.mkdir(join(root, "screw/test/good"), { recursive: true });
    await assertRejects(
      () => readMvtecDataset(root),
      DatasetError,
      'class "screw" has no test images',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// VisA

async function makeVisa(root: string, csv?: string): Promise<string> {
  for (const f of ["Normal/0000.JPG", "Normal/0001.JPG", "Normal/0002.JPG", "Anomaly/000.JPG"]) {
    for (const cls of ["candle", "pcb1"]) {
      const path = join(root, cls, "Data/Images", f);
      await Deno.mkdir(dirname(path), { recursive: true });
      await sharp(new Uint8Array(8 * 8 * 3).fill(60), { raw: { width: 8, height: 8, channels: 3 } })
        .jpeg().toFile(path);
    }
  }
  for (const cls of ["candle", "pcb1"]) {
    await writeMask(join(root, cls, "Data/Masks/Anomaly/000.png"));
  }
  const text = csv ?? [
    "object,split,label,image,mask",
    "pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,",
    "pcb1,train,normal,pcb1/Data/Images/Normal/0001.JPG,",
    "pcb1,test,normal,pcb1/Data/Images/Normal/0002.JPG,",
    "pcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,pcb1/Data/Masks/Anomaly/000.png",
    "candle,train,normal,candle/Data/Images/Normal/0000.JPG,",
    "candle,test,normal,candle/Data/Images/Normal/0001.JPG,",
    'candle,test,anomaly,"candle/Data/Images/Anomaly/000.JPG",candle/Data/Masks/Anomaly/000.png',
    "",
  ].join("\r\n");
  const csvPath = join(root, "split_csv/1cls.csv");
  await Deno.mkdir(dirname(csvPath), { recursive: true });
  await Deno.writeTextFile(csvPath, text);
  return csvPath;
}

Deno.test("VisA reader follows the split CSV", async () => {
  await withTempDir(async (root) => {
    await makeVisa(root);
    assertEquals(await detectLayout(root), "visa");
    const ds = await readDataset(root);
    assertEquals(ds.layout, "visa");
    assertEquals(ds.classes, ["candle", "pcb1"]);
    assertEquals(names(ds.records), [
      "candle/train/good/0000.JPG:0:-",
      "candle/test/anomaly/000.JPG:1:000.png",
      "candle/test/good/0001.JPG:0:-",
      "pcb1/train/good/0000.JPG:0:-",
      "pcb1/train/good/0001.JPG:0:-",
      "pcb1/test/anomaly/000.JPG:1:000.png",
      "pcb1/test/good/0002.JPG:0:-",
    ]);
    assertEquals(ds.records[1].imagePath, join(root, "candle/Data/Images/Anomaly/000.JPG"));
    const pcb = await readVisaDataset(root, { classes: ["pcb1"] });
    assertEquals(pcb.records.length, 4);
  });
});

Deno.test("VisA errors: missing column, missing file, anomaly without mask, bad label", async () => {
  await withTempDir(async (root) => {
    const csvPath = await makeVisa(root, "object,split,image,mask\npcb1,train,a.JPG,\n");
    const cols = await assertRejects(() => readVisaDataset(root), DatasetError);
    assertStringIncludes(cols.message, "lacks column(s) label");
    assertEquals(cols.path, csvPath);

    await Deno.writeTextFile(
      csvPath,
      "object,split,label,image,mask\npcb1,train,normal,pcb1/Data/Images/Normal/9999.JPG,\n",
    );
    const missing = await assertRejects(() => readVisaDataset(root), DatasetError);
    assertStringIncludes(missing.message, "row 2 of");
    assertStringIncludes(missing.message, "points to a missing file");
    assertEquals(missing.path, join(root, "pcb1/Data/Images/Normal/9999.JPG"));

    await Deno.writeTextFile(
      csvPath,
      "object,split,label,image,mask\npcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,\n",
    );
    await assertRejects(
      () => readVisaDataset(root),
      DatasetError,
      "anomalous test image has no mask",
    );

    await Deno.writeTextFile(
      csvPath,
      "object,split,label,image,mask\npcb1,test,bad,pcb1/Data/Images/Anomaly/000.JPG,\n",
    );
    await assertRejects(() => readVisaDataset(root), DatasetError, 'got "bad"');
  });
});

Deno.test("parseCsv handles quotes, escaped quotes, CRLF and a BOM", () => {
  assertEquals(parseCsv('\ufeffa,b\r\n"x,1","say ""hi"""\n\n3,\n'), [
    ["a", "b"],
    ["x,1", 'say "hi"'],
    ["3", ""],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Real-IAD

interface RealIadEntry {
  category: string;
  anomaly_class: string;
  image_path: string;
  mask_path: string | null;
}

/** Writes a Real-IAD class; paths relative to `base` as written in the JSON. */
async function makeRealIad(
  root: string,
  jsonDirName: string,
  imageBase: string,
  prefix: string,
): Promise<void> {
  const cls = "audiojack";
  const entry = (kind: string, id: string, view: string): RealIadEntry => ({
    category: cls,
    anomaly_class: kind,
    image_path: `${prefix}${kind}/S${id}/${cls}_${id}_${kind}_${view}.jpg`,
    mask_path: kind === "OK" ? null : `${prefix}${kind}/S${id}/${cls}_${id}_${kind}_${view}.png`,
  });
  const train = [entry("OK", "0001", "C1"), entry("OK", "0001", "C2")];
  const test = [entry("OK", "0002", "C1"), entry("AK", "0003", "C1"), entry("AK", "0003", "C2")];
  for (const e of [...train, ...test]) {
    const path = join(imageBase, e.image_path);
    await Deno.mkdir(dirname(path), { recursive: true });
    await sharp(new Uint8Array(8 * 8 * 3).fill(70), { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg().toFile(path);
    if (e.mask_path) await writeMask(join(imageBase, e.mask_path));
  }
  await Deno.mkdir(join(root, jsonDirName), { recursive: true });
  await Deno.writeTextFile(
    join(root, jsonDirName, `${cls}.json`),
    JSON.stringify({ meta: { normal_class: "OK" }, train, test }),
  );
}

Deno.test("Real-IAD reader: paths relative to realiad_1024/<class>/, every view a record", async () => {
  await withTempDir(async (root) => {
    await makeRealIad(root, "realiad_jsons", join(root, "realiad_1024/audiojack"), "");
    assertEquals(await detectLayout(root), "real-iad");
    const ds = await readDataset(root);
    assertEquals(ds.layout, "real-iad");
    assertEquals(ds.classes, ["audiojack"]);
    assertEquals(names(ds.records), [
      "audiojack/train/good/audiojack_0001_OK_C1.jpg:0:-",
      "audiojack/train/good/audiojack_0001_OK_C2.jpg:0:-",
      "audiojack/test/AK/audiojack_0003_AK_C1.jpg:1:audiojack_0003_AK_C1.png",
      "audiojack/test/AK/audiojack_0003_AK_C2.jpg:1:audiojack_0003_AK_C2.png",
      "audiojack/test/good/audiojack_0002_OK_C1.jpg:0:-",
    ]);
    assert(ds.records[0].imagePath.startsWith(join(root, "realiad_1024/audiojack")));
  });
});

Deno.test("Real-IAD reader: `jsons` folder and paths relative to the root", async () => {
  await withTempDir(async (root) => {
    await makeRealIad(root, "jsons", root, "audiojack/");
    const ds = await readRealIadDataset(root);
    assertEquals(ds.records.length, 5);
    assertEquals(
      ds.records[0].imagePath,
      join(root, "audiojack/OK/S0001/audiojack_0001_OK_C1.jpg"),
    );
  });
});

Deno.test("Real-IAD errors: image under no base, missing listed mask, invalid JSON", async () => {
  await withTempDir(async (root) => {
    await makeRealIad(root, "realiad_jsons", join(root, "elsewhere"), "");
    const nowhere = await assertRejects(() => readRealIadDataset(root), DatasetError);
    assertStringIncludes(nowhere.message, "exists under none of");
    assertStringIncludes(nowhere.message, join(root, "realiad_1024/audiojack"));

    await Deno.remove(join(root, "elsewhere"), { recursive: true });
    await makeRealIad(root, "realiad_jsons", root, "");
    const mask = join(root, "AK/S0003/audiojack_0003_AK_C2.png");
    await Deno.remove(mask);
    const missing = await assertRejects(() => readRealIadDataset(root), DatasetError);
    assertStringIncludes(missing.message, "test[2] points to a missing file");
    assertEquals(missing.path, mask);

    await Deno.writeTextFile(join(root, "realiad_jsons/audiojack.json"), "{ not json");
    await assertRejects(() => readRealIadDataset(root), DatasetError, "invalid JSON");
  });
});

// ---------------------------------------------------------------------------------------------
// Plain folders

async function makeFolders(root: string): Promise<void> {
  for (let i = 0; i < 10; i++) await writePng(join(root, "normal", `n${i}.png`));
  await writePng(join(root, "abnormal", "a0.png"));
  await writePng(join(root, "abnormal", "a1.jpg"));
  await writeMask(join(root, "masks", "a0.png"));
  await writeMask(join(root, "masks", "a1_mask.png"));
}

Deno.test("folder reader: seeded split, masks by stem with or without _mask", async () => {
  await withTempDir(async (root) => {
    await makeFolders(root);
    const options = {
      normalDir: join(root, "normal"),
      abnormalDir: join(root, "abnormal"),
      maskDir: join(root, "masks"),
      className: "widget",
      trainFraction: 0.7,
      seed: 3,
    };
    const a = await readFolderDataset(options);
    const b = await readFolderDataset(options);
    assertEquals(a.records, b.records);
    assertEquals(a.layout, "folder");
    assertEquals(a.classes, ["widget"]);
    const train = a.records.filter((r) => r.split === "train");
    const test = a.records.filter((r) => r.split === "test");
    assertEquals(train.length, 7);
    assertEquals(test.filter((r) => r.label === 0).length, 3);
    assertEquals(
      test.filter((r) => r.label === 1).map((r) => basename(r.maskPath!)),
      ["a0.png", "a1_mask.png"],
    );
    // Every normal image is used exactly once.
    assertEquals(
      a.records.filter((r) => r.label === 0).map((r) => basename(r.imagePath)).sort(),
      Array.from({ length: 10 }, (_, i) => `n${i}.png`),
    );
    const other = await readFolderDataset({ ...options, seed: 4 });
    assert(
      JSON.stringify(other.records.filter((r) => r.split === "train")) !== JSON.stringify(train),
      "a different seed gives a different split",
    );
    assertEquals(anomaliesWithoutMask(a.records), []);
  });
});

Deno.test("folder reader: no mask folder means explicit undefined masks", async () => {
  await withTempDir(async (root) => {
    await makeFolders(root);
    const ds = await readFolderDataset({
      normalDir: join(root, "normal"),
      normalTestDir: join(root, "abnormal"), // any folder of normal-looking images works here
      abnormalDir: join(root, "abnormal"),
      className: "widget",
      seed: 0,
    });
    assertEquals(ds.records.filter((r) => r.split === "train").length, 10);
    const anomalies = ds.records.filter((r) => r.label === 1);
    assertEquals(anomalies.length, 2);
    assert(anomalies.every((r) => r.maskPath === undefined && !("maskPath" in r)));
    assertEquals(anomaliesWithoutMask(ds.records), anomalies);
  });
});

Deno.test("folder reader errors: missing mask, both split options", async () => {
  await withTempDir(async (root) => {
    await makeFolders(root);
    await Deno.remove(join(root, "masks/a1_mask.png"));
    const base = {
      normalDir: join(root, "normal"),
      abnormalDir: join(root, "abnormal"),
      maskDir: join(root, "masks"),
      className: "widget",
      seed: 0,
    };
    const e = await assertRejects(() => readFolderDataset(base), DatasetError);
    assertEquals(e.path, join(root, "abnormal/a1.jpg"));
    await assertRejects(
      () => readFolderDataset({ ...base, trainFraction: 0.5, normalTestDir: join(root, "normal") }),
      DatasetError,
      "not both",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Layout detection

Deno.test("readDataset names the expected layouts when it recognises none", async () => {
  await withTempDir(async (root) => {
    await writePng(join(root, "images/0.png"));
    const e = await assertRejects(() => readDataset(root), DatasetError);
    assertStringIncludes(e.message, `unknown dataset layout at ${root}: expected`);
    assertStringIncludes(e.message, "split_csv/1cls.csv");
    assertStringIncludes(e.message, "train/good");
  });
});
