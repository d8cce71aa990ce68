/**
 * Each dataset preset names the layout `readDataset` detects for a fixture made in that
 * dataset's published layout, and the union of the presets keeps their class ids apart.
 */
import { assertEquals } from "@std/assert";
import { dirname, join } from "@std/path";
import sharp from "sharp";
import { detectLayout, readDataset, writeUnionManifest } from "../lib/data/mod.ts";
import { DATASET_KEYS, DATASET_PRESETS, type DatasetKey } from "../lib/reproduce/mod.ts";

async function png(path: string, mask = false): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = new Uint8Array(8 * 8 * 3).fill(mask ? 0 : 100);
  if (mask) data.fill(255, 0, 8 * 3 * 2);
  await sharp(data, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path);
}

/** A two-class fixture in each dataset's own layout. */
const FIXTURES: Record<DatasetKey, (root: string) => Promise<void>> = {
  mvtec: async (root) => {
    for (const c of ["bottle", "screw"]) {
      await png(join(root, c, "train/good/000.png"));
      await png(join(root, c, "test/good/000.png"));
      await png(join(root, c, "test/crack/000.png"));
      await png(join(root, c, "ground_truth/crack/000_mask.png"), true);
    }
  },
  btad: async (root) => {
    for (const c of ["01", "02"]) {
      await png(join(root, c, "train/ok/0000.png"));
      await png(join(root, c, "test/ok/0000.png"));
      await png(join(root, c, "test/ko/0000.png"));
      await png(join(root, c, "ground_truth/ko/0000.png"), true);
    }
  },
  visa: async (root) => {
    const rows = ["object,split,label,image,mask"];
    for (const c of ["candle", "screw"]) {
      await png(join(root, c, "Data/Images/Normal/0000.png"));
      await png(join(root, c, "Data/Images/Normal/0001.png"));
      await png(join(root, c, "Data/Images/Anomaly/000.png"));
      await png(join(root, c, "Data/Masks/Anomaly/000.png"), true);
      rows.push(`${c},train,normal,${c}/Data/Images/Normal/0000.png,`);
      rows.push(`${c},test,normal,${c}/Data/Images/Normal/0001.png,`);
      rows.push(
        `${c},test,anomaly,${c}/Data/Images/Anomaly/000.png,${c}/Data/Masks/Anomaly/000.png`,
      );
    }
    await Deno.mkdir(join(root, "split_csv"), { recursive: true });
    await Deno.writeTextFile(join(root, "split_csv/1cls.csv"), rows.join("\n") + "\n");
  },
  realiad: async (root) => {
    for (const c of ["audiojack", "screw"]) {
      const base = join(root, "realiad_1024", c);
      await png(join(base, "OK/S0001/C1.png"));
      await png(join(base, "OK/S0002/C1.png"));
      await png(join(base, "NG/AK/S0003/C1.png"));
      await png(join(base, "NG/AK/S0003/C1_mask.png"), true);
      const entry = (image: string, anomaly: string, mask: string | null) => ({
        category: c,
        anomaly_class: anomaly,
        image_path: image,
        mask_path: mask,
      });
      await Deno.mkdir(join(root, "realiad_jsons"), { recursive: true });
      await Deno.writeTextFile(
        join(root, "realiad_jsons", `${c}.json`),
        JSON.stringify({
          meta: { prefix: "" },
          train: [entry("OK/S0001/C1.png", "OK", null)],
          test: [
            entry("OK/S0002/C1.png", "OK", null),
            entry("NG/AK/S0003/C1.png", "AK", "NG/AK/S0003/C1_mask.png"),
          ],
        }),
      );
    }
  },
  manta: async (root) => {
    for (const [domain, c] of [["mechanics", "gear"], ["medicine", "capsule"]]) {
      await png(join(root, domain, c, "train/good/000.png"));
      await png(join(root, domain, c, "test/good/000.png"));
      await png(join(root, domain, c, "test/crack/000.png"));
      await png(join(root, domain, c, "ground_truth/crack/000.png"), true);
    }
  },
};

Deno.test("every dataset preset's layout is what readDataset detects for a fixture of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_presets_" });
  try {
    const roots: Record<string, string> = {};
    for (const key of DATASET_KEYS) {
      const root = join(dir, key);
      await FIXTURES[key](root);
      assertEquals(await detectLayout(root), DATASET_PRESETS[key].layout, key);
      const ds = await readDataset(root);
      assertEquals(ds.classes.length, 2, `${key}: ${ds.classes}`);
      assertEquals(ds.records.filter((r) => r.label === 1).length, 2, key);
      roots[key] = root;
    }
    // All five as one: ten classes, none merged although three datasets have a "screw".
    const union = await readDataset(await writeUnionManifest(join(dir, "all"), roots));
    assertEquals(union.classes.length, 10);
    assertEquals(union.classes.filter((c) => c.endsWith("/screw")), [
      "mvtec/screw",
      "realiad/screw",
      "visa/screw",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
