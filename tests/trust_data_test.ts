/**
 * Dataset cases that used to give wrong numbers with exit code 0: class folders dropped
 * silently, symbolic links not followed, VisA split mistakes accepted, damaged test files found
 * only after training.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { dirname, join } from "@std/path";
import {
  DatasetError,
  decodeTestFiles,
  detectLayout,
  readDataset,
  readMvtecDataset,
  readVisaDataset,
  validateDataset,
} from "../lib/data/mod.ts";
import {
  truncateFile,
  withTempDir,
  writeImage,
  writeMask,
  writeMvtecClass,
  writeNoise,
} from "./_trust_fixtures.ts";

const silent = { note: () => {} };

for (const [broken, found] of [["train/goood", "train/goood"], ["training", "training/"]]) {
  Deno.test(`MVTec: a class with ${broken}/ instead of train/good is an error naming it`, async () => {
    await withTempDir(async (root) => {
      await writeMvtecClass(join(root, "bottle"));
      await writeMvtecClass(join(root, "carpet"));
      await Deno.rename(join(root, "carpet/train/good"), join(root, "carpet/train/tmp"));
      await Deno.mkdir(join(root, "carpet", dirname(broken)), { recursive: true });
      await Deno.rename(join(root, "carpet/train/tmp"), join(root, "carpet", broken));
      if (broken === "training") await Deno.remove(join(root, "carpet/train"), { recursive: true });
      const error = await assertRejects(() => readMvtecDataset(root, silent), DatasetError);
      assertStringIncludes(error.message, join(root, "carpet"));
      assertStringIncludes(error.message, found);
      // Through layout detection too (the path `deno task train --data` takes).
      await assertRejects(() => readDataset(root, silent), DatasetError, "carpet");
      // Leaving the broken class out on purpose reads the rest, with a note about it.
      const notes: string[] = [];
      const ds = await readMvtecDataset(root, {
        classes: ["bottle"],
        note: (l) => notes.push(l),
      });
      assertEquals(ds.classes, ["bottle"]);
      assert(notes.some((n) => n.includes("carpet")), notes.join("\n"));
    });
  });
}

Deno.test("MVTec: a root whose only class is broken is still detected as MVTec", async () => {
  await withTempDir(async (root) => {
    await writeMvtecClass(join(root, "bottle"));
    await Deno.rename(join(root, "bottle/train/good"), join(root, "bottle/train/goood"));
    assertEquals(await detectLayout(root), "mvtec");
    await assertRejects(() => readDataset(root, silent), DatasetError, "train/goood");
  });
});

Deno.test("MVTec: a clearly foreign folder is skipped with a printed note", async () => {
  await withTempDir(async (root) => {
    await writeMvtecClass(join(root, "bottle"));
    await Deno.mkdir(join(root, "docs"));
    await Deno.writeTextFile(join(root, "docs/readme.txt"), "not a class");
    const notes: string[] = [];
    const ds = await readMvtecDataset(root, { note: (l) => notes.push(l) });
    assertEquals(ds.classes, ["bottle"]);
    assertEquals(notes.length, 1);
    assertStringIncludes(notes[0], join(root, "docs"));
  });
});

Deno.test("MVTec: symbolic links to a class, to train/good and to test/good are followed", async () => {
  await withTempDir(async (dir) => {
    const store = join(dir, "store");
    const root = join(dir, "root");
    await writeMvtecClass(join(store, "bottle"));
    await writeMvtecClass(join(store, "carpet"));
    await writeMvtecClass(join(root, "grid"));
    await Deno.mkdir(join(root, "wood/train"), { recursive: true });
    await Deno.symlink(join(store, "bottle"), join(root, "bottle"));
    // wood: train/good and test/good are links into carpet's folders.
    await Deno.symlink(join(store, "carpet/train/good"), join(root, "wood/train/good"));
    await Deno.mkdir(join(root, "wood/test"), { recursive: true });
    await Deno.symlink(join(store, "carpet/test/good"), join(root, "wood/test/good"));
    await writeImage(join(root, "wood/test/crack/000.png"), 200);
    await writeMask(join(root, "wood/ground_truth/crack/000_mask.png"));
    const ds = await readMvtecDataset(root, silent);
    assertEquals(ds.classes, ["bottle", "grid", "wood"]);
    const count = (cls: string, split: string, label: number) =>
      ds.records.filter((r) => r.className === cls && r.split === split && r.label === label)
        .length;
    assertEquals([count("bottle", "train", 0), count("bottle", "test", 0)], [2, 1]);
    assertEquals([count("wood", "train", 0), count("wood", "test", 0)], [2, 1]);
  });
});

Deno.test("MVTec: a broken symbolic link is an error naming it", async () => {
  await withTempDir(async (root) => {
    await writeMvtecClass(join(root, "bottle"));
    await Deno.symlink(join(root, "nowhere"), join(root, "carpet"));
    await assertRejects(() => readMvtecDataset(root, silent), DatasetError, "carpet");
  });
});

async function writeVisa(root: string, rows: string[]): Promise<string> {
  for (const cls of ["candle", "pcb1"]) {
    for (
      const f of ["Normal/0.JPG", "Normal/1.JPG", "Normal/2.JPG", "Anomaly/0.JPG", "Anomaly/1.JPG"]
    ) {
      await writeImage(join(root, cls, "Data/Images", f));
    }
    await writeMask(join(root, cls, "Data/Masks/Anomaly/0.png"));
  }
  const csv = join(root, "split_csv/1cls.csv");
  await Deno.mkdir(dirname(csv), { recursive: true });
  await Deno.writeTextFile(csv, ["object,split,label,image,mask", ...rows].join("\n") + "\n");
  return csv;
}

function visaRows(cls: string): string[] {
  const img = (f: string) => `${cls}/Data/Images/${f}`;
  return [
    `${cls},train,normal,${img("Normal/0.JPG")},`,
    `${cls},train,normal,${img("Normal/1.JPG")},`,
    `${cls},test,normal,${img("Normal/2.JPG")},`,
    `${cls},test,anomaly,${img("Anomaly/0.JPG")},${cls}/Data/Masks/Anomaly/0.png`,
  ];
}

Deno.test("VisA: an anomalous row in the train split is an error (or an explicit opt-in)", async () => {
  await withTempDir(async (root) => {
    const csv = await writeVisa(root, [
      ...visaRows("candle"),
      ...visaRows("pcb1"),
      "pcb1,train,anomaly,pcb1/Data/Images/Anomaly/1.JPG,",
    ]);
    const error = await assertRejects(() => readVisaDataset(root, silent), DatasetError);
    assertStringIncludes(error.message, `row 10 of ${csv}`);
    assertStringIncludes(error.message, "anomalous image in the train split");
  });
});

Deno.test("VisA: the opt-in keeps train anomalies, and says so", async () => {
  await withTempDir(async (root) => {
    const rows = [...visaRows("candle"), ...visaRows("pcb1")];
    // pcb1's anomaly moves to train; its test keeps only the normal image.
    rows[7] = "pcb1,train,anomaly,pcb1/Data/Images/Anomaly/0.JPG,pcb1/Data/Masks/Anomaly/0.png";
    await writeVisa(root, rows);
    const notes: string[] = [];
    const ds = await readVisaDataset(root, {
      allowTrainAnomalies: true,
      note: (l) => notes.push(l),
    });
    assertEquals(ds.records.filter((r) => r.split === "train" && r.label === 1).length, 1);
    assertEquals(notes.length, 1);
    assertStringIncludes(notes[0], "1 anomalous image(s) kept in the train split");
  });
});

Deno.test("VisA: an image listed in both splits (or twice) is an error naming it", async () => {
  await withTempDir(async (root) => {
    const both = [
      ...visaRows("candle"),
      ...visaRows("pcb1"),
      "pcb1,test,normal,pcb1/Data/Images/Normal/0.JPG,",
    ];
    const csv = await writeVisa(root, both);
    const error = await assertRejects(() => readVisaDataset(root, silent), DatasetError);
    assertStringIncludes(error.message, "in both the train and the test split");
    assertStringIncludes(error.message, "pcb1/Data/Images/Normal/0.JPG");
    assertStringIncludes(error.message, `row 10 of ${csv}`);
    await writeVisa(root, [...visaRows("candle"), ...visaRows("pcb1"), visaRows("pcb1")[2]]);
    await assertRejects(() => readVisaDataset(root, silent), DatasetError, "twice in the test");
  });
});

Deno.test("damaged test images and masks: the header check passes, the decode names the file", async () => {
  await withTempDir(async (root) => {
    for (const file of ["bottle/test/crack/000.png", "bottle/ground_truth/crack/000_mask.png"]) {
      await writeMvtecClass(join(root, "bottle"));
      // Noise at 64x64, so the cut leaves the header whole and the pixel data short.
      await writeNoise(join(root, "bottle/test/crack/000.png"), 64);
      await writeMask(join(root, "bottle/ground_truth/crack/000_mask.png"), 64, true);
      const path = join(root, file);
      const ds = await readMvtecDataset(root, { ...silent, validate: false });
      assertEquals(await decodeTestFiles(ds), 3);
      await truncateFile(path, 0.5);
      await validateDataset(ds); // headers still read: this is what missed it before
      const error = await assertRejects(() => decodeTestFiles(ds), DatasetError);
      assertStringIncludes(error.message, path);
    }
  });
});
