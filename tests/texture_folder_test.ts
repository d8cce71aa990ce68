import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { selectBackend } from "../lib/backend/select_backend.ts";
import type { Backbone } from "../lib/backbones/types.ts";
import { encodePng, loadImage } from "../lib/data/image.ts";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { parseCli } from "../lib/experiment/cli.ts";
import { type ExperimentConfig, resolveConfig } from "../lib/experiment/config.ts";
import { readConfigFile } from "../lib/experiment/config_file.ts";
import { demoJobs, texturesNote } from "../lib/experiment/demo.ts";
import { evaluateRun } from "../lib/experiment/evaluate_run.ts";
import { configFingerprint } from "../lib/experiment/fingerprint.ts";
import { buildUnitModel } from "../lib/experiment/model.ts";
import { loadRunTextures, runExperiment } from "../lib/experiment/run_experiment.ts";
import { assertConfigFilesExist } from "../lib/experiment/validate_config.ts";
import {
  listTextureFiles,
  loadTextureFolder,
  synthesizeAnomalies,
  unpackTexture,
} from "../lib/methods/synthetic/mod.ts";
import { WorkerPool } from "../lib/parallel/pool.ts";
import { createFakeBackbone } from "./_fake_backbone.ts";
import { mulberry32 } from "../lib/util/random.ts";

await selectBackend({ requested: "wasm", log: false });

/** Pure red, green and blue: a pasted pixel tells which texture it came from. */
const COLOURS: ReadonlyArray<[number, number, number]> = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];

async function writeSolidPng(path: string, rgb: readonly number[], side = 20) {
  const bytes = new Uint8Array(side * side * 3).map((_, i) => rgb[i % 3]);
  await Deno.writeFile(path, await encodePng(bytes, [side, side, 3]));
}

/** A folder of three solid-colour PNGs (one in a subfolder, as DTD's `images/<category>/`). */
async function textureFixture(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ccl-textures-" });
  await Deno.mkdir(join(dir, "sub"));
  await writeSolidPng(join(dir, "a_red.png"), COLOURS[0]);
  await writeSolidPng(join(dir, "b_green.png"), COLOURS[1]);
  await writeSolidPng(join(dir, "sub", "c_blue.png"), COLOURS[2], 40);
  await Deno.writeTextFile(join(dir, "README.txt"), "not an image, ignored");
  return dir;
}

const TINY_DRAEM = { reconstructiveWidth: 2, discriminativeWidth: 2, anomalyProbability: 1 };

/**
 * Every anomalous image's masked pixels are (1 - β) · one of the pure colours + β · 0.5: one
 * channel at 1 - β/2, the other two at β/2, with the same β over the whole image.
 */
function pastedFromPureColours(
  images: Float32Array,
  masks: Float32Array,
  shape: [number, number, number],
): boolean {
  const [count, h, w] = shape;
  for (let b = 0; b < count; b++) {
    let half: number | undefined;
    for (let p = 0; p < h * w; p++) {
      if (masks[b * h * w + p] === 0) continue;
      const rgb = [0, 1, 2].map((c) => images[(b * h * w + p) * 3 + c]).sort((x, y) => x - y);
      if (Math.abs(rgb[0] - rgb[1]) > 1e-6 || Math.abs(rgb[2] + rgb[0] - 1) > 1e-6) return false;
      half ??= rgb[0];
      if (Math.abs(rgb[0] - half) > 1e-6) return false;
    }
  }
  return true;
}

Deno.test("texture folder: listed recursively in path order, decoded as loadImage does", async () => {
  const dir = await textureFixture();
  try {
    assertEquals(listTextureFiles(dir), ["a_red.png", "b_green.png", "sub/c_blue.png"]);
    const textures = await loadTextureFolder(dir, 32);
    assertEquals([textures.count, textures.height, textures.width], [3, 32, 32]);
    assertEquals(textures.files, ["a_red.png", "b_green.png", "sub/c_blue.png"]);
    assert(textures.pixels.buffer instanceof SharedArrayBuffer, "shared with workers");
    const blue = unpackTexture(textures, 2, new Float32Array(32 * 32 * 3));
    assertEquals(blue, await loadImage(join(dir, "sub", "c_blue.png"), { resize: 32 }));
    // What a pool task receives: the same bytes, the same memory.
    const cloned = structuredClone(textures);
    assertEquals(cloned.pixels, textures.pixels);
    assertEquals(cloned.fingerprint.hash, textures.fingerprint.hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("texture folder: a DRAEM unit pastes the folder's textures, seeded", async () => {
  const dir = await textureFixture();
  try {
    const config = resolveConfig({
      method: "draem",
      methodOptions: TINY_DRAEM,
      imageSize: 32,
      textures: dir,
    });
    const textures = await loadRunTextures(config);
    // DRAEM uses no backbone.
    const noBackbone = {} as Backbone;
    const withFolder = buildUnitModel(config, noBackbone, "joint", { textures });
    const procedural = buildUnitModel(config, noBackbone, "joint");
    try {
      const shape: [number, number, number] = [6, 32, 32];
      const batch = { images: new Float32Array(6 * 32 * 32 * 3).fill(0.5), shape };
      const a = withFolder.method.prepareBatch!(batch, mulberry32(11));
      const b = withFolder.method.prepareBatch!(batch, mulberry32(11));
      assertEquals(a.images, b.images, "same seed, same folder: the same batch");
      assertEquals(a.masks, b.masks);
      assert(a.masks.some((v) => v === 1), "anomalies were pasted");
      assert(pastedFromPureColours(a.images, a.masks, shape), "pixels come from the folder");
      const p = procedural.method.prepareBatch!(batch, mulberry32(11));
      assert(!pastedFromPureColours(p.images, p.masks, shape), "default: procedural textures");
    } finally {
      withFolder.dispose();
      procedural.dispose();
    }
    // DeSTSeg receives them the same way (through the registry's resources).
    const backbone = createFakeBackbone();
    const destseg = buildUnitModel(
      resolveConfig({ method: "destseg", imageSize: 32, textures: dir }),
      backbone,
      "joint",
      { textures },
    );
    try {
      const shape: [number, number, number] = [3, 32, 32];
      const batch = { images: new Float32Array(3 * 32 * 32 * 3).fill(0.5), shape };
      const out = destseg.method.prepareBatch!(batch, mulberry32(5));
      assert(out.masks.some((v) => v === 1));
      assert(pastedFromPureColours(out.images, out.masks, shape), "DeSTSeg pastes the folder's");
    } finally {
      destseg.dispose();
      backbone.dispose();
    }
    // The synthesiser itself: a packed folder and the same textures as a list agree.
    const list = [0, 1, 2].map((i) => unpackTexture(textures!, i, new Float32Array(32 * 32 * 3)));
    const batch = { images: new Float32Array(2 * 32 * 32 * 3).fill(0.25), shape: [2, 32, 32] };
    const options = { probability: 1 };
    assertEquals(
      synthesizeAnomalies(batch as never, { ...options, textures }, mulberry32(3)),
      synthesizeAnomalies(batch as never, { ...options, textures: list }, mulberry32(3)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("texture folder: missing, empty or corrupt folders are errors naming them", async () => {
  const dir = await textureFixture();
  const empty = await Deno.makeTempDir({ prefix: "ccl-empty-" });
  await Deno.writeTextFile(join(empty, "notes.txt"), "no images here");
  try {
    const config = (textures: string) =>
      resolveConfig({ method: "draem", imageSize: 32, textures });
    const missing = join(dir, "nope");
    assertThrows(
      () => assertConfigFilesExist(config(missing)),
      Error,
      `${missing}: no such folder`,
    );
    assertThrows(() => assertConfigFilesExist(config(empty)), Error, `${empty}: holds no images`);
    const file = join(dir, "a_red.png");
    assertThrows(() => assertConfigFilesExist(config(file)), Error, "is a file, not a folder");
    await Deno.writeTextFile(join(dir, "sub", "broken.jpg"), "not a JPEG");
    await assertRejects(
      () => loadRunTextures(config(dir)),
      Error,
      `texture folder ${dir}: cannot decode sub/broken.jpg`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("texture folder: rd and dmad refuse it; the demo gives it to draem and destseg only", () => {
  for (const method of ["rd", "dmad"]) {
    assertThrows(
      () => resolveConfig({ method, textures: "dtd" }),
      Error,
      `method "${method}" does not synthesise anomalies`,
    );
  }
  assertThrows(() => resolveConfig({ method: "draem", textures: "" }), Error, "textures must be");
  assertEquals(resolveConfig({ method: "destseg", textures: "dtd" }).textures, "dtd");
  const jobs = demoJobs({ textures: "dtd" }, [0], ["rd", "draem", "destseg"]);
  assertEquals(
    jobs.map((j) => `${j.config.method}:${j.config.textures}`),
    [...Array(3).fill("rd:null"), ...Array(3).fill("draem:dtd"), ...Array(3).fill("destseg:dtd")],
  );
  for (const job of jobs) resolveConfig(job.config);
  assertThrows(() => texturesNote("dtd", ["rd"]), Error, "rd do(es) not synthesise");
  assert(texturesNote("dtd", ["rd", "draem"])!.includes("rd run(s) without it"));
});

Deno.test("texture folder: config round trip; the fingerprint follows the folder's content", async () => {
  const dir = await textureFixture();
  try {
    const path = join(dir, "config.json");
    await Deno.writeTextFile(path, JSON.stringify({ method: "draem", textures: dir }));
    const config = resolveConfig(await readConfigFile(path));
    assertEquals(config.textures, dir);
    assertEquals(resolveConfig(JSON.parse(JSON.stringify(config))), config);
    const cli = await parseCli(["--method", "draem", "--textures", dir, "--size", "32"]);
    assertEquals(cli.config.textures, dir);
    const before = await configFingerprint(config);
    assertEquals(await configFingerprint(config), before);
    const plain = resolveConfig({ method: "draem" });
    assertNotEquals(await configFingerprint(plain), before);
    // A config without textures hashes as it did before the key existed.
    const { textures: _, ...legacy } = plain;
    assertEquals(
      await configFingerprint(plain),
      await configFingerprint(legacy as ExperimentConfig),
    );
    // Same path, other bytes: another fingerprint.
    await writeSolidPng(join(dir, "b_green.png"), [0, 128, 0]);
    const edited = await configFingerprint(config);
    assertNotEquals(edited, before);
    await Deno.writeTextFile(join(dir, "sub", "extra.png.txt"), "ignored: not an image");
    assertEquals(await configFingerprint(config), edited);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "texture folder: a DRAEM run records it, workers get it, a changed folder is refused",
  // The pool's workers live across the test.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await textureFixture();
    const tmp = await Deno.makeTempDir({ prefix: "ccl-tex-run-" });
    try {
      const root = join(tmp, "synth");
      await ensureSynthDataset(root, {
        size: 32,
        trainPerClass: 4,
        testGoodPerClass: 2,
        testBadPerClass: 2,
        classes: ["woven", "pill"],
      });
      const config = {
        name: "tex",
        method: "draem",
        methodOptions: TINY_DRAEM,
        strategy: "per-class" as const,
        data: { root },
        imageSize: 32,
        epochs: 2,
        batchSize: 4,
        backend: "wasm",
        seed: 3,
        textures: dir,
      };
      const quiet = { progress: "silent" as const, log: () => {} };
      const serialDir = join(tmp, "serial");
      const serial = await runExperiment(config, { ...quiet, resultsDir: serialDir });
      const pool = new WorkerPool({ workers: 2 });
      let parallel;
      try {
        parallel = await runExperiment(config, { ...quiet, resultsDir: join(tmp, "pool"), pool });
      } finally {
        pool.close();
      }
      // Stopped after the first epoch, then resumed.
      const resumedDir = join(tmp, "resumed");
      const stop = new AbortController();
      await assertRejects(() =>
        runExperiment(config, {
          ...quiet,
          resultsDir: resumedDir,
          signal: stop.signal,
          onEpoch: () => stop.abort(new Error("stop")),
        })
      );
      const resumed = await runExperiment(config, {
        ...quiet,
        resultsDir: resumedDir,
        resume: true,
      });
      // The same run with procedural textures, for contrast.
      const procedural = await runExperiment(
        { ...config, textures: null, data: { root, classes: ["pill"] } },
        { ...quiet, resultsDir: join(tmp, "procedural") },
      );
      const logOf = (base: string) => Deno.readTextFile(join(base, "tex", "log.jsonl"));
      const losses = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l).losses);
      const serialLosses = losses(await logOf(serialDir));
      assertEquals(losses(await logOf(join(tmp, "pool"))), serialLosses, "workers got them");
      assertEquals(losses(await logOf(resumedDir)), serialLosses, "resume is bit-exact");
      const pillLosses = (text: string) =>
        text.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.unit === "pill")
          .map((e) => e.losses);
      assertNotEquals(
        pillLosses(await logOf(join(tmp, "procedural"))),
        pillLosses(await logOf(serialDir)),
        "the folder's textures change training",
      );
      assertEquals(parallel.perClass, serial.perClass);
      assertEquals(resumed.perClass, serial.perClass);
      assertEquals(procedural.textures, undefined);
      const runDir = join(serialDir, "tex");
      const metrics = JSON.parse(await Deno.readTextFile(join(runDir, "metrics.json")));
      assertEquals(metrics.config.textures, dir);
      assertEquals(metrics.textures.fingerprint.files, 3);
      assertEquals(metrics.textures.size, 32);
      const saved = JSON.parse(await Deno.readTextFile(join(runDir, "config.json")));
      assertEquals(saved.textures, dir);
      // Another texture under the same folder: resume and eval refuse the run.
      await writeSolidPng(join(dir, "sub", "d_grey.png"), [128, 128, 128]);
      await assertRejects(
        () => runExperiment(config, { ...quiet, resultsDir: serialDir, resume: true }),
        Error,
        `the texture folder ${dir} is not the one the run started with: 1 image(s) new ` +
          `(sub/d_grey.png)`,
      );
      await assertRejects(
        () => evaluateRun(runDir, quiet),
        Error,
        `cannot evaluate ${runDir}: the texture folder ${dir} is not the one the run started ` +
          `with: 1 image(s) new (sub/d_grey.png)`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
