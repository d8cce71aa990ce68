import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import sharp from "sharp";
import { dirname, fromFileUrl, join } from "@std/path";
import {
  ensureSynthDataset,
  generateSynthDataset,
  getSynthClass,
  renderSynthSample,
  resolveSynthParams,
  SYNTH_CLASS_NAMES,
  type SynthManifest,
  type SynthManifestEntry,
} from "../lib/data/synth/mod.ts";

/** Small counts keep generation well under a second at 64x64. */
const SMALL = { size: 64, seed: 7, trainPerClass: 3, testGoodPerClass: 2, testBadPerClass: 6 };

interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

async function readPng(path: string, channels: 1 | 3): Promise<Pixels> {
  const image = channels === 1 ? sharp(path).extractChannel(0) : sharp(path).removeAlpha();
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  assertEquals(info.channels, channels, `${path}: expected ${channels} channels`);
  return { width: info.width, height: info.height, channels, data: new Uint8Array(data) };
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Mean RGB (0-1) over the pixels where `weight` is true (all pixels when omitted). */
function meanColour(p: Pixels, weight?: (i: number) => boolean): number[] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < p.width * p.height; i++) {
    if (weight && !weight(i)) continue;
    for (let c = 0; c < 3; c++) sum[c] += p.data[i * 3 + c] / 255;
    n++;
  }
  return sum.map((s) => s / n);
}

/**
 * Simple colour statistics: mean and std per channel over the centre and over the border
 * (objects sit in the middle), and the mean horizontal gradient.
 */
function imageFeatures(p: Pixels): number[] {
  const centre = (i: number) => {
    const x = i % p.width;
    const y = Math.floor(i / p.width);
    return Math.abs(x - p.width / 2) < p.width / 4 && Math.abs(y - p.height / 2) < p.height / 4;
  };
  const feats: number[] = [];
  for (const region of [centre, (i: number) => !centre(i)]) {
    const mean = meanColour(p, region);
    const variance = [0, 0, 0];
    let n = 0;
    for (let i = 0; i < p.width * p.height; i++) {
      if (!region(i)) continue;
      for (let c = 0; c < 3; c++) variance[c] += (p.data[i * 3 + c] / 255 - mean[c]) ** 2;
      n++;
    }
    feats.push(...mean, ...variance.map((v) => Math.sqrt(v / n)));
  }
  let gradient = 0;
  for (let i = 0; i + 1 < p.width * p.height; i++) {
    if ((i + 1) % p.width !== 0) gradient += Math.abs(p.data[i * 3 + 3] - p.data[i * 3]) / 255;
  }
  return [...feats, gradient / (p.width * p.height)];
}

const BINS = 16;

function colourBin(p: Pixels, i: number): number {
  const q = (v: number) => Math.floor((v * BINS) / 256);
  return (q(p.data[i * 3]) * BINS + q(p.data[i * 3 + 1])) * BINS + q(p.data[i * 3 + 2]);
}

/** Normalised RGB histogram (16 bins per channel) over all pixels of `images`. */
function colourHistogram(images: Pixels[]): Float64Array {
  const h = new Float64Array(BINS ** 3);
  let n = 0;
  for (const p of images) {
    for (let i = 0; i < p.width * p.height; i++, n++) h[colourBin(p, i)]++;
  }
  return h.map((v) => v / n);
}

/** Mean log-likelihood of the selected pixels' colours under a class's colour histogram. */
function colourLikelihood(h: Float64Array, p: Pixels, selected: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < p.width * p.height; i++) {
    if (!selected(i)) continue;
    sum += Math.log(h[colourBin(p, i)] + 1e-5);
    n++;
  }
  return sum / n;
}

function distance(a: number[], b: number[]): number {
  return Math.hypot(...a.map((v, i) => v - b[i]));
}

function normals(manifest: SynthManifest, className: string): SynthManifestEntry[] {
  return manifest.samples.filter((s) => s.className === className && s.defect === "good");
}

Deno.test("synthetic dataset: layout, masks, variation, classes, foreign patches", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "synth_test_" });
  try {
    const dir = join(root, "data");
    const manifest = await generateSynthDataset(dir, SMALL);

    await t.step(
      "writes the MVTec layout and a manifest that lists exactly the files",
      async () => {
        assert(SYNTH_CLASS_NAMES.length >= 6);
        assertEquals(manifest.params.classes, [...SYNTH_CLASS_NAMES]);
        const kinds = new Set(manifest.classes.map((c) => c.kind));
        assertEquals(kinds, new Set(["texture", "object"]));
        const expected = new Set(["synth.json"]);
        for (const className of SYNTH_CLASS_NAMES) {
          const defects = getSynthClass(className).defects;
          assert(defects.includes("foreign_class"), `${className} lacks foreign_class`);
          for (let i = 0; i < 3; i++) expected.add(`${className}/train/good/00${i}.png`);
          for (let i = 0; i < 2; i++) expected.add(`${className}/test/good/00${i}.png`);
          // Six anomalous images cycle through the defect types.
          for (let k = 0; k < 6; k++) {
            const defect = defects[k % defects.length];
            const stem = `00${Math.floor(k / defects.length)}`;
            expected.add(`${className}/test/${defect}/${stem}.png`);
            expected.add(`${className}/ground_truth/${defect}/${stem}_mask.png`);
          }
        }
        assertEquals(await listFiles(dir), [...expected].sort());
        const listed = manifest.samples.flatMap((s) => (s.mask ? [s.image, s.mask] : [s.image]));
        assertEquals([...listed, "synth.json"].sort(), [...expected].sort());
        const onDisk = JSON.parse(await Deno.readTextFile(join(dir, "synth.json")));
        assertEquals(onDisk, manifest);
        assertEquals(onDisk.params, {
          version: onDisk.params.version,
          ...SMALL,
          classes: [...SYNTH_CLASS_NAMES],
          family: "distinct",
          confusability: 0,
        });
      },
    );

    await t.step(
      "every anomalous image has a same-size binary mask, 0 < positives < 50%",
      async () => {
        for (const s of manifest.samples) {
          const image = await readPng(join(dir, s.image), 3);
          assertEquals([image.width, image.height], [64, 64], s.image);
          if (s.defect === "good") {
            assertEquals(s.mask, undefined);
            continue;
          }
          assert(s.mask, `${s.image} has no mask`);
          assertEquals(
            s.mask,
            s.image.replace("/test/", "/ground_truth/").replace(".png", "_mask.png"),
          );
          const meta = await sharp(join(dir, s.mask)).metadata();
          assertEquals(meta.channels, 1, `${s.mask} is not grayscale`);
          const mask = await readPng(join(dir, s.mask), 1);
          assertEquals([mask.width, mask.height], [64, 64], s.mask);
          let positive = 0;
          for (const v of mask.data) {
            assert(v === 0 || v === 255, `${s.mask} has value ${v}`);
            if (v === 255) positive++;
          }
          const fraction = positive / mask.data.length;
          assert(
            fraction > 0 && fraction < 0.5,
            `${s.mask}: ${(fraction * 100).toFixed(2)}% positive`,
          );
        }
      },
    );

    await t.step("masks mark exactly the visibly changed pixels", async () => {
      for (const s of manifest.samples.filter((e) => e.mask)) {
        const rendered = renderSynthSample({
          className: s.className,
          split: "test",
          defect: s.defect as "scratch",
          index: Number(s.image.slice(-7, -4)),
          size: 64,
          seed: SMALL.seed,
        });
        const file = await readPng(join(dir, s.image), 3);
        assertEquals(file.data, rendered.image, `${s.image} differs from renderSynthSample`);
        const mask = await readPng(join(dir, s.mask!), 1);
        assertEquals(mask.data, rendered.mask, `${s.mask} differs from renderSynthSample`);
        // `normal` is the same photograph, with the same sensor noise, without the defect.
        const normal = rendered.normal!;
        let inside = 0;
        let insideChange = 0;
        for (let p = 0; p < mask.data.length; p++) {
          let change = 0;
          for (let c = 0; c < 3; c++) {
            change = Math.max(change, Math.abs(file.data[p * 3 + c] - normal[p * 3 + c]) / 255);
          }
          if (mask.data[p] === 255) {
            inside++;
            insideChange += change;
          } else {
            // Below the 0.08 visibility threshold, plus rounding and clipping.
            assert(change < 0.09, `${s.image}: pixel ${p} changed by ${change} outside the mask`);
          }
        }
        assert(insideChange / inside > 0.05, `${s.image}: defect barely visible`);
      }
    });

    await t.step("normal images of a class vary", async () => {
      for (const className of SYNTH_CLASS_NAMES) {
        const images = await Promise.all(
          normals(manifest, className).map((s) => readPng(join(dir, s.image), 3)),
        );
        for (let a = 0; a < images.length; a++) {
          for (let b = a + 1; b < images.length; b++) {
            let diff = 0;
            for (let i = 0; i < images[a].data.length; i++) {
              diff += Math.abs(images[a].data[i] - images[b].data[i]);
            }
            const mean = diff / images[a].data.length / 255;
            assert(mean > 0.02, `${className}: normal images ${a}, ${b} nearly equal (${mean})`);
          }
        }
      }
    });

    await t.step("classes are told apart by simple colour statistics", async () => {
      const centroids = new Map<string, number[]>();
      for (const className of SYNTH_CLASS_NAMES) {
        const train = manifest.samples.filter((s) =>
          s.className === className && s.split === "train"
        );
        const feats = await Promise.all(
          train.map(async (s) => imageFeatures(await readPng(join(dir, s.image), 3))),
        );
        centroids.set(
          className,
          feats[0].map((_, k) => feats.reduce((sum, f) => sum + f[k], 0) / feats.length),
        );
      }
      for (const s of manifest.samples.filter((e) => e.split === "test" && e.defect === "good")) {
        const f = imageFeatures(await readPng(join(dir, s.image), 3));
        let nearest = "";
        let best = Infinity;
        for (const [name, c] of centroids) {
          const d = distance(f, c);
          if (d < best) [best, nearest] = [d, name];
        }
        assertEquals(nearest, s.className, `${s.image} looks most like ${nearest}`);
      }
    });

    await t.step("a foreign_class patch looks like its source class, not its own", async () => {
      const foreign = manifest.samples.filter((s) => s.defect === "foreign_class");
      assertEquals(foreign.length, SYNTH_CLASS_NAMES.length);
      const histograms = new Map<string, Float64Array>();
      for (const className of SYNTH_CLASS_NAMES) {
        const images = await Promise.all(
          normals(manifest, className).map((n) => readPng(join(dir, n.image), 3)),
        );
        histograms.set(className, colourHistogram(images));
      }
      let resembling = 0;
      const report: string[] = [];
      for (const s of foreign) {
        assert(s.sourceClass && s.sourceClass !== s.className, `${s.image}: bad source`);
        const mask = await readPng(join(dir, s.mask!), 1);
        const image = await readPng(join(dir, s.image), 3);
        const inMask = (i: number) => mask.data[i] === 255;
        const toSource = colourLikelihood(histograms.get(s.sourceClass!)!, image, inMask);
        const toOwn = colourLikelihood(histograms.get(s.className)!, image, inMask);
        if (toSource > toOwn) resembling++;
        report.push(
          `${s.image} <- ${s.sourceClass}: ${toSource.toFixed(2)} vs ${toOwn.toFixed(2)}`,
        );
      }
      // Some pairs are meant to be confusable (steel washer vs steel grid), so allow one miss.
      assert(resembling >= foreign.length - 1, report.join("\n"));
    });

    await t.step("same seed gives identical bytes, adding classes changes nothing", async () => {
      const again = join(root, "again");
      await generateSynthDataset(again, { ...SMALL, classes: ["pill", "woven"] });
      const files = await listFiles(again);
      assert(files.length > 20);
      for (const f of files.filter((f) => f.endsWith(".png"))) {
        assertEquals(
          await Deno.readFile(join(again, f)),
          await Deno.readFile(join(dir, f)),
          `${f} differs between runs`,
        );
      }
    });

    await t.step("a different seed gives different images", async () => {
      const other = join(root, "other");
      const m = await generateSynthDataset(other, {
        ...SMALL,
        seed: 8,
        classes: ["grid", "screw"],
      });
      for (const s of m.samples) {
        assertNotEquals(
          await Deno.readFile(join(other, s.image)),
          await Deno.readFile(join(dir, s.image)),
          `${s.image} is the same for seeds 7 and 8`,
        );
      }
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ensureSynthDataset reuses a matching cache and regenerates on change", async () => {
  const root = await Deno.makeTempDir({ prefix: "synth_cache_test_" });
  try {
    const dir = join(root, "cache", "synth");
    const options = { ...SMALL, classes: ["leather", "washer"], trainPerClass: 2 };
    const first = await ensureSynthDataset(dir, options);
    assert(first.generated);
    assertEquals(first.dataset.classes, ["leather", "washer"]);
    assertEquals(first.dataset.records.length, 2 * (2 + 2 + 6));
    for (const r of first.dataset.records) {
      assertEquals(r.label, r.defect === "good" ? 0 : 1);
      assertEquals(r.maskPath !== undefined, r.label === 1);
      await Deno.stat(r.imagePath);
    }
    // A file the generator never writes survives reuse, so nothing was rewritten.
    await Deno.writeTextFile(join(dir, "marker.txt"), "kept");
    const second = await ensureSynthDataset(dir, { ...options, concurrency: 2 });
    assert(!second.generated);
    assertEquals(second.manifest, first.manifest);
    assertEquals(await Deno.readTextFile(join(dir, "marker.txt")), "kept");

    const firstImage = await Deno.readFile(join(dir, "leather/train/good/000.png"));
    const third = await ensureSynthDataset(dir, { ...options, seed: 99 });
    assert(third.generated);
    assertEquals(third.manifest.params.seed, 99);
    await assertRejects(() => Deno.stat(join(dir, "marker.txt")), Deno.errors.NotFound);
    assertNotEquals(await Deno.readFile(join(dir, "leather/train/good/000.png")), firstImage);
    // No temporary folders are left beside the dataset.
    assertEquals(await listFiles(dirname(dir)), (await listFiles(dir)).map((f) => `synth/${f}`));

    const size128 = await ensureSynthDataset(dir, { ...options, seed: 99, size: 128 });
    assert(size128.generated);
    const meta = await sharp(join(dir, "washer/test/good/000.png")).metadata();
    assertEquals([meta.width, meta.height], [128, 128]);

    const foreign = join(root, "not_a_dataset");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "notes.txt"), "mine");
    await assertRejects(() => ensureSynthDataset(foreign, options), Error, "refusing to overwrite");
    assertEquals(await Deno.readTextFile(join(foreign, "notes.txt")), "mine");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("bad requests fail with a clear message", () => {
  assertThrows(() => resolveSynthParams({ size: 20 }), Error, "size");
  assertThrows(() => resolveSynthParams({ trainPerClass: 1.5 }), Error, "trainPerClass");
  assertThrows(() => resolveSynthParams({ classes: ["carpet"] }), Error, "known classes");
  assertThrows(() => resolveSynthParams({ classes: ["pill", "pill"] }), Error, "duplicates");
  assertThrows(
    () =>
      renderSynthSample({
        className: "woven",
        split: "test",
        defect: "misplaced",
        index: 0,
        size: 64,
        seed: 0,
      }),
    Error,
    "has no defect",
  );
  assertEquals(resolveSynthParams({ classes: ["pill", "woven"] }).classes, ["woven", "pill"]);
});

Deno.test("scripts/synth.ts generates, reuses and rejects bad flags", async () => {
  const root = await Deno.makeTempDir({ prefix: "synth_cli_test_" });
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/synth.ts", ...args],
      cwd: fromFileUrl(new URL("..", import.meta.url)),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  };
  try {
    const out = join(root, "synth");
    const flags = [
      "--out",
      out,
      "--size",
      "64",
      "--seed",
      "3",
      "--train-per-class",
      "2",
      "--test-good-per-class",
      "1",
      "--test-bad-per-class",
      "2",
      "--classes",
      "pill,woven",
      "--no-measure",
    ];
    const first = await run(...flags);
    assertEquals(first.code, 0, first.stderr);
    assert(first.stdout.startsWith("generated"), first.stdout);
    const manifest = JSON.parse(await Deno.readTextFile(join(out, "synth.json")));
    assertEquals(manifest.params.classes, ["woven", "pill"]);
    assertEquals(manifest.params.seed, 3);
    assertEquals(manifest.samples.length, 2 * (2 + 1 + 2));
    const second = await run(...flags);
    assertEquals(second.code, 0, second.stderr);
    assert(second.stdout.startsWith("reused"), second.stdout);

    const help = await run("--help");
    assertEquals(help.code, 0);
    assert(help.stdout.includes("--test-bad-per-class"));
    const badSize = await run("--out", out, "--size", "100");
    assertEquals(badSize.code, 1);
    assert(badSize.stderr.includes("--size must be 64, 128 or 256"), badSize.stderr);
    const badClass = await run("--out", out, "--classes", "carpet");
    assertEquals(badClass.code, 1);
    assert(badClass.stderr.includes('unknown synthetic class "carpet"'), badClass.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
