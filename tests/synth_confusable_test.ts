import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { fromFileUrl, join } from "@std/path";
import { selectBackend } from "../lib/backend/select_backend.ts";
import {
  CONFUSABLE_CLASS_NAMES,
  confusableDesignDistance,
  DEFAULT_CONFUSABILITY,
  ensureSynthDataset,
  generateSynthDataset,
  nearestConfusableClass,
  renderSynthSample,
  resolveSynthParams,
  synthCacheDir,
  synthFamily,
} from "../lib/data/synth/mod.ts";
import { measureSeparability } from "../lib/data/synth/measure.ts";

/** Small counts: every defect type once per class, a few normals. */
const SMALL = {
  family: "confusable" as const,
  size: 64,
  seed: 5,
  trainPerClass: 2,
  testGoodPerClass: 1,
  testBadPerClass: 6,
};

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

Deno.test("confusable family: 8-12 classes, MVTec layout, every defect type, masks", async () => {
  const root = await Deno.makeTempDir({ prefix: "synth_confusable_test_" });
  try {
    const manifest = await generateSynthDataset(join(root, "a"), {
      ...SMALL,
      confusability: 0.5,
    });
    const names = manifest.params.classes;
    assert(names.length >= 8 && names.length <= 12, `${names.length} classes`);
    assertEquals(names, [...CONFUSABLE_CLASS_NAMES]);
    assertEquals(manifest.params.family, "confusable");
    assertEquals(manifest.params.confusability, 0.5);
    const kinds = new Set(manifest.classes.map((c) => c.kind));
    assertEquals(kinds, new Set(["texture", "object"]));
    const defects = new Set(manifest.classes.flatMap((c) => c.defects));
    assertEquals(
      defects,
      new Set(["scratch", "hole", "stain", "crack", "missing", "misplaced", "foreign_class"]),
    );
    for (const c of manifest.classes) {
      assert(c.defects.includes("foreign_class"), `${c.name} lacks foreign_class`);
      assertEquals(c.nearestClass, nearestConfusableClass(c.name, 0.5));
    }
    for (const s of manifest.samples) {
      assert(s.image.startsWith(`${s.className}/${s.split}/${s.defect}/`), s.image);
      if (s.defect === "good") continue;
      assertEquals(
        s.mask,
        s.image.replace("/test/", "/ground_truth/").replace(".png", "_mask.png"),
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("confusable family: foreign_class patches come from the nearest class", () => {
  for (const level of [0, DEFAULT_CONFUSABILITY, 1]) {
    const family = synthFamily("confusable", level);
    for (const name of CONFUSABLE_CLASS_NAMES) {
      const nearest = nearestConfusableClass(name, level)!;
      // Nearest by design distance: no other class is closer.
      for (const other of CONFUSABLE_CLASS_NAMES) {
        if (other === name) continue;
        assert(
          confusableDesignDistance(name, nearest, level) <=
            confusableDesignDistance(name, other, level),
          `${name} at ${level}: ${other} is nearer than ${nearest}`,
        );
      }
      assertEquals(family.foreignSources(name).map((c) => c.name), [nearest]);
      const sample = renderSynthSample({
        className: name,
        split: "test",
        defect: "foreign_class",
        index: 0,
        size: 64,
        seed: 1,
        family: "confusable",
        confusability: level,
      });
      assertEquals(sample.sourceClass, nearest);
    }
  }
  // Designs converge with the knob: every pair of a group is closer at 1 than at 0.
  assert(
    confusableDesignDistance("screw_slot", "screw_cross", 1) <
      confusableDesignDistance("screw_slot", "screw_cross", 0) / 2,
  );
  assertEquals(confusableDesignDistance("screw_slot", "weave_fine", 0.5), Infinity);
});

Deno.test("confusable family: generation is byte-identical for a seed; levels differ", async () => {
  const root = await Deno.makeTempDir({ prefix: "synth_confusable_bytes_" });
  try {
    const options = { ...SMALL, confusability: 0.5, classes: ["screw_slot", "weave_fine"] };
    await generateSynthDataset(join(root, "a"), options);
    await generateSynthDataset(join(root, "b"), { ...options, concurrency: 1 });
    const files = await listFiles(join(root, "a"));
    assertEquals(files, await listFiles(join(root, "b")));
    assert(files.filter((f) => f.endsWith(".png")).length > 20);
    for (const f of files) {
      assertEquals(
        await Deno.readFile(join(root, "a", f)),
        await Deno.readFile(join(root, "b", f)),
        `${f} differs between two generations with the same seed`,
      );
    }
    const other = await generateSynthDataset(join(root, "c"), { ...options, confusability: 0.6 });
    for (const s of other.samples.filter((e) => e.defect === "good")) {
      assertNotEquals(
        await Deno.readFile(join(root, "c", s.image)),
        await Deno.readFile(join(root, "a", s.image)),
        `${s.image} is the same at confusability 0.5 and 0.6`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("confusability is part of the cache key and of synth.json", async () => {
  const root = await Deno.makeTempDir({ prefix: "synth_confusable_cache_" });
  try {
    const dir = join(root, "data");
    const options = { ...SMALL, classes: ["pill_plain", "pill_imprint"], confusability: 0.25 };
    assert((await ensureSynthDataset(dir, options)).generated);
    assert(!(await ensureSynthDataset(dir, options)).generated);
    const again = await ensureSynthDataset(dir, { ...options, confusability: 0.3 });
    assert(again.generated);
    assertEquals(again.manifest.params.confusability, 0.3);
    await assertRejects(
      () => ensureSynthDataset(dir, { ...options, ifDifferent: "error" }),
      Error,
      "confusability: 0.3 -> 0.25",
    );
    // A manifest written before families existed is the distinct family at level 0.
    const distinct = resolveSynthParams({ classes: ["pill"] });
    const { family: _f, confusability: _c, ...legacy } = distinct;
    const old = join(root, "old");
    await generateSynthDataset(old, { classes: ["pill"], trainPerClass: 1, testBadPerClass: 0 });
    const manifest = JSON.parse(await Deno.readTextFile(join(old, "synth.json")));
    manifest.params = { ...legacy, trainPerClass: 1, testBadPerClass: 0 };
    await Deno.writeTextFile(join(old, "synth.json"), JSON.stringify(manifest));
    const reused = await ensureSynthDataset(old, {
      classes: ["pill"],
      trainPerClass: 1,
      testBadPerClass: 0,
    });
    assert(!reused.generated, "an old distinct-family manifest was not reused");
    assertEquals(
      synthCacheDir({ family: "confusable", confusability: 0.5, size: 64, seed: 0 }),
      ".cache/synth-confusable-c0.5-64-seed0",
    );
    assertEquals(synthCacheDir({ size: 64, seed: 0 }), ".cache/synth-64-seed0");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("bad family or confusability fails with a clear message", () => {
  assertThrows(() => resolveSynthParams({ family: "fuzzy" as "distinct" }), Error, "family");
  assertThrows(
    () => resolveSynthParams({ family: "confusable", confusability: 1.5 }),
    RangeError,
    "confusability must be a number in [0, 1]",
  );
  assertThrows(
    () => resolveSynthParams({ family: "distinct", confusability: 0.5 }),
    RangeError,
    "confusable family only",
  );
  assertThrows(
    () => resolveSynthParams({ family: "confusable", classes: ["woven"] }),
    Error,
    "known classes: weave_fine",
  );
  assertThrows(
    () =>
      renderSynthSample({
        className: "pill_plain",
        split: "test",
        defect: "misplaced",
        index: 0,
        size: 64,
        seed: 0,
        family: "confusable",
      }),
    Error,
    "has no defect",
  );
});

Deno.test("the backbone V-measure falls as confusability rises", async () => {
  await selectBackend({ log: false });
  const root = await Deno.makeTempDir({ prefix: "synth_confusable_vm_" });
  try {
    const scores: number[] = [];
    for (const level of [0, 0.5, 1]) {
      const info = await ensureSynthDataset(join(root, `c${level}`), {
        family: "confusable",
        confusability: level,
        trainPerClass: 8,
        testGoodPerClass: 0,
        testBadPerClass: 0,
      });
      const report = await measureSeparability(info.dataset.records, { size: 64 });
      assertEquals(report.k, CONFUSABLE_CLASS_NAMES.length);
      scores.push(report.vMeasure);
    }
    const [distinct, middle, duplicates] = scores;
    const text = scores.map((v) => v.toFixed(3)).join(", ");
    assert(distinct > middle && middle > duplicates, `not decreasing: ${text}`);
    assert(distinct > 0.9, `level 0 should look distinct: ${text}`);
    assert(distinct - duplicates > 0.15, `the knob barely moves the V-measure: ${text}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("scripts/synth.ts: --family, --confusability, V-measure, and --force", async () => {
  const root = await Deno.makeTempDir({ prefix: "synth_confusable_cli_" });
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
    const small = [
      "--out",
      out,
      "--train-per-class",
      "3",
      "--test-good-per-class",
      "0",
      "--test-bad-per-class",
      "0",
      "--classes",
      "screw_slot,screw_cross,weave_fine",
    ];
    const first = await run(...small, "--family", "confusable", "--confusability", "0.4");
    assertEquals(first.code, 0, first.stderr);
    assert(first.stdout.includes("confusable family at confusability 0.4"), first.stdout);
    assert(/V-measure \d\.\d{3}/.test(first.stdout), first.stdout);
    const before = await Deno.readTextFile(join(out, "synth.json"));

    // Other settings into the same folder: refused without --force, nothing touched.
    const refused = await run(...small, "--family", "confusable", "--confusability", "0.9");
    assertEquals(refused.code, 1);
    assert(refused.stderr.includes("confusability: 0.4 -> 0.9"), refused.stderr);
    assert(refused.stderr.includes("--force"), refused.stderr);
    assertEquals(await Deno.readTextFile(join(out, "synth.json")), before);
    const otherSeed = await run(...small, "--family", "confusable", "--seed", "4", "--no-measure");
    assertEquals(otherSeed.code, 1);
    assert(otherSeed.stderr.includes("seed: 0 -> 4"), otherSeed.stderr);

    const forced = await run(
      ...small,
      "--family",
      "confusable",
      "--confusability",
      "0.9",
      "--force",
      "--no-measure",
    );
    assertEquals(forced.code, 0, forced.stderr);
    assert(forced.stdout.startsWith("generated"), forced.stdout);
    assert(!forced.stdout.includes("V-measure"), forced.stdout);
    assertEquals(
      JSON.parse(await Deno.readTextFile(join(out, "synth.json"))).params.confusability,
      0.9,
    );

    const defaultLevel = await run(
      "--out",
      join(root, "default"),
      "--family",
      "confusable",
      "--train-per-class",
      "1",
      "--test-good-per-class",
      "0",
      "--test-bad-per-class",
      "0",
      "--no-measure",
    );
    assertEquals(defaultLevel.code, 0, defaultLevel.stderr);
    assert(defaultLevel.stdout.includes(`confusability ${DEFAULT_CONFUSABILITY}`));

    const bad = await run("--out", out, "--confusability", "0.5");
    assertEquals(bad.code, 1);
    assert(bad.stderr.includes("--family confusable only"), bad.stderr);
    const badLevel = await run("--out", out, "--family", "confusable", "--confusability", "2");
    assertEquals(badLevel.code, 1);
    assert(badLevel.stderr.includes("--confusability must be a number in [0, 1]"), badLevel.stderr);
    const badFamily = await run("--out", out, "--family", "fuzzy");
    assertEquals(badFamily.code, 1);
    assert(badFamily.stderr.includes('unknown family "fuzzy"'), badFamily.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
