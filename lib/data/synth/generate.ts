/**
 * Writing the synthetic dataset to disk in the MVTec AD layout, and reusing it when it is
 * already there:
 *
 * ```
 * OUT/synth.json                                   generation parameters and file list
 * OUT/<class>/train/good/000.png
 * OUT/<class>/test/good/000.png
 * OUT/<class>/test/<defect>/000.png
 * OUT/<class>/ground_truth/<defect>/000_mask.png   0/255 grayscale, same size as the image
 * ```
 * @module
 */

import sharp from "sharp";
import { basename, dirname, join, resolve } from "@std/path";
import type { Dataset, SampleRecord, Split } from "../types.ts";
import { nearestConfusableClass, requireConfusability } from "./confusable.ts";
import { requireFamily, synthFamily, type SynthFamilyName } from "./family.ts";
import { renderSynthSample } from "./sample.ts";
import type { DefectType, SynthKind } from "./scene.ts";

/**
 * Version of the renderers. Bump it whenever any image would come out differently, so that
 * caches written by older code are regenerated.
 */
export const SYNTH_VERSION = 1;

/** The `format` field of synth.json. */
export const SYNTH_FORMAT = "ccl-ad-synth";

/** What to generate; every field is optional (see {@link DEFAULT_SYNTH_OPTIONS}). */
export interface SynthOptions {
  /** Dataset seed; every image derives its own seed from it and its key. */
  seed?: number;
  /** Side of the square images in pixels (64, 128 or 256 intended; 32-1024 accepted). */
  size?: number;
  /** Normal training images per class. */
  trainPerClass?: number;
  /** Normal test images per class. */
  testGoodPerClass?: number;
  /** Anomalous test images per class, spread evenly over the class's defect types. */
  testBadPerClass?: number;
  /** Which classes to generate (default: all classes of the family). */
  classes?: readonly string[];
  /**
   * Family of classes: "distinct" (default; the seven easy-to-tell classes) or "confusable"
   * (eleven classes sharing low-level statistics; see confusable.ts).
   */
  family?: SynthFamilyName;
  /**
   * How alike the confusable family's classes look, in [0, 1]: 0 distinct, 1 near-duplicates
   * (default 0; the distinct family accepts only 0). See DEFAULT_CONFUSABILITY.
   */
  confusability?: number;
  /** How many PNG encodes may be in flight at once (not part of the cache key). */
  concurrency?: number;
  /**
   * What {@link ensureSynthDataset} does when the folder holds a dataset made with other
   * parameters: "replace" it (default; right for caches) or throw an "error" that lists what
   * differs (right for a folder a user named). Not part of the cache key.
   */
  ifDifferent?: "replace" | "error";
}

/** Generation parameters as recorded in synth.json; equal parameters give identical files. */
export interface SynthParams {
  version: number;
  seed: number;
  size: number;
  trainPerClass: number;
  testGoodPerClass: number;
  testBadPerClass: number;
  /** Class names, in registry order. */
  classes: string[];
  /** Family of classes (absent in manifests written before families existed: "distinct"). */
  family?: SynthFamilyName;
  /** Confusability level (absent in older manifests: 0). */
  confusability?: number;
}

/** One image of the generated dataset, paths relative to the dataset folder (with "/"). */
export interface SynthManifestEntry {
  image: string;
  className: string;
  split: Split;
  defect: string;
  mask?: string;
  /** For `foreign_class` defects: the class whose appearance was pasted in. */
  sourceClass?: string;
}

/** What a class looks like, as recorded in synth.json. */
export interface SynthClassInfo {
  name: string;
  kind: SynthKind;
  description: string;
  defects: DefectType[];
  /** Confusable family: the class its `foreign_class` patches come from (the nearest one). */
  nearestClass?: string;
}

/** The contents of synth.json. */
export interface SynthManifest {
  format: typeof SYNTH_FORMAT;
  params: SynthParams;
  classes: SynthClassInfo[];
  samples: SynthManifestEntry[];
}

/** Result of {@link ensureSynthDataset}. */
export interface SynthDatasetInfo {
  /** Absolute path of the dataset folder. */
  root: string;
  /** Whether the files were written by this call (false: a matching cache was reused). */
  generated: boolean;
  manifest: SynthManifest;
  /** The dataset's records, with absolute paths. */
  dataset: Dataset;
}

/** Defaults: several hundred training images over seven classes, 64x64, seed 0. */
export const DEFAULT_SYNTH_OPTIONS: Readonly<
  Required<Omit<SynthOptions, "classes" | "ifDifferent">>
> = {
  family: "distinct",
  confusability: 0,
  seed: 0,
  size: 64,
  trainPerClass: 72,
  testGoodPerClass: 10,
  testBadPerClass: 18,
  concurrency: 8,
};

function requireInteger(name: string, value: number, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new Error(
      `synthetic dataset: ${name} must be an integer in [${lo}, ${hi}], got ${value}`,
    );
  }
  return value;
}

/**
 * The full, validated parameters for `options`; throws a message naming the bad option.
 *
 * @example
 * ```ts
 * import { resolveSynthParams } from "./generate.ts";
 * resolveSynthParams({ size: 128, classes: ["pill", "woven"] }).classes; // ["woven", "pill"]
 * resolveSynthParams({ family: "confusable", confusability: 0.5 }).classes.length; // 11
 * ```
 */
export function resolveSynthParams(options: SynthOptions = {}): SynthParams {
  const d = DEFAULT_SYNTH_OPTIONS;
  const familyName = requireFamily(options.family ?? d.family);
  const confusability = requireConfusability(options.confusability ?? d.confusability);
  const family = synthFamily(familyName, confusability);
  const classes = options.classes ?? family.classNames;
  if (classes.length === 0) throw new Error("synthetic dataset: classes must not be empty");
  for (const name of classes) family.getClass(name);
  if (new Set(classes).size !== classes.length) {
    throw new Error(`synthetic dataset: classes contain duplicates: ${classes.join(", ")}`);
  }
  return {
    version: SYNTH_VERSION,
    seed: requireInteger("seed", options.seed ?? d.seed, 0, 0xffffffff),
    size: requireInteger("size", options.size ?? d.size, 32, 1024),
    trainPerClass: requireInteger(
      "trainPerClass",
      options.trainPerClass ?? d.trainPerClass,
      0,
      1e5,
    ),
    testGoodPerClass: requireInteger(
      "testGoodPerClass",
      options.testGoodPerClass ?? d.testGoodPerClass,
      0,
      1e5,
    ),
    testBadPerClass: requireInteger(
      "testBadPerClass",
      options.testBadPerClass ?? d.testBadPerClass,
      0,
      1e5,
    ),
    // Registry order, so that the same set of classes always gives the same parameters.
    classes: family.classNames.filter((n) => classes.includes(n)),
    family: familyName,
    confusability,
  };
}

/** The family a parameter set names (older manifests have none: distinct, level 0). */
function familyOf(params: SynthParams): { family: SynthFamilyName; confusability: number } {
  return { family: params.family ?? "distinct", confusability: params.confusability ?? 0 };
}

/**
 * The parameters that differ between two parameter sets, as `name: a -> b` lines (empty when
 * they would generate identical datasets).
 *
 * @example
 * ```ts
 * import { diffSynthParams, resolveSynthParams } from "./generate.ts";
 * diffSynthParams(resolveSynthParams({ size: 64 }), resolveSynthParams({ size: 128 }));
 * // ["size: 64 -> 128"]
 * ```
 */
export function diffSynthParams(a: SynthParams, b: SynthParams): string[] {
  const left = { ...a, ...familyOf(a), classes: a.classes.join(",") };
  const right = { ...b, ...familyOf(b), classes: b.classes.join(",") };
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])];
  return keys.flatMap((key) => {
    const x = (left as Record<string, unknown>)[key];
    const y = (right as Record<string, unknown>)[key];
    return x === y ? [] : [`${key}: ${x} -> ${y}`];
  });
}

/** Whether two parameter sets would generate identical datasets. */
export function sameSynthParams(a: SynthParams, b: SynthParams): boolean {
  const fa = familyOf(a);
  const fb = familyOf(b);
  return fa.family === fb.family && fa.confusability === fb.confusability &&
    a.version === b.version && a.seed === b.seed && a.size === b.size &&
    a.trainPerClass === b.trainPerClass && a.testGoodPerClass === b.testGoodPerClass &&
    a.testBadPerClass === b.testBadPerClass && a.classes.length === b.classes.length &&
    a.classes.every((c, i) => c === b.classes[i]);
}

/** One image to render and where it goes. */
interface PlannedSample {
  className: string;
  split: Split;
  defect: "good" | DefectType;
  index: number;
  image: string;
  mask?: string;
}

function fileName(index: number): string {
  return `${String(index).padStart(3, "0")}.png`;
}

/** Every image of the dataset, in a fixed order: per class, train, test good, test defects. */
function planSamples(params: SynthParams): PlannedSample[] {
  const { family, confusability } = familyOf(params);
  const getSynthClass = synthFamily(family, confusability).getClass;
  const plan: PlannedSample[] = [];
  for (const className of params.classes) {
    for (let i = 0; i < params.trainPerClass; i++) {
      plan.push({
        className,
        split: "train",
        defect: "good",
        index: i,
        image: `${className}/train/good/${fileName(i)}`,
      });
    }
    for (let i = 0; i < params.testGoodPerClass; i++) {
      plan.push({
        className,
        split: "test",
        defect: "good",
        index: i,
        image: `${className}/test/good/${fileName(i)}`,
      });
    }
    const defects = getSynthClass(className).defects;
    for (const [k, defect] of defects.entries()) {
      // Defect types take turns, so counts differ by at most one between types.
      const count = Math.floor(params.testBadPerClass / defects.length) +
        (k < params.testBadPerClass % defects.length ? 1 : 0);
      for (let i = 0; i < count; i++) {
        const stem = fileName(i).slice(0, -4);
        plan.push({
          className,
          split: "test",
          defect,
          index: i,
          image: `${className}/test/${defect}/${stem}.png`,
          mask: `${className}/ground_truth/${defect}/${stem}_mask.png`,
        });
      }
    }
  }
  return plan;
}

async function writePng(path: string, bytes: Uint8Array, size: number, channels: 1 | 3) {
  const image = sharp(bytes, { raw: { width: size, height: size, channels } });
  // Without an explicit colour space sharp widens one-channel input to RGB.
  await (channels === 1 ? image.toColourspace("b-w") : image).png().toFile(path);
}

/**
 * Renders and writes the dataset into `dir` (created if absent; must not contain a dataset
 * already) and returns its manifest. synth.json is written last, so a folder without it is
 * incomplete. Prefer {@link ensureSynthDataset}, which also reuses caches and writes atomically.
 *
 * @example
 * ```ts
 * import { generateSynthDataset } from "./generate.ts";
 * const dir = await Deno.makeTempDir();
 * const manifest = await generateSynthDataset(`${dir}/synth`, {
 *   trainPerClass: 2,
 *   testGoodPerClass: 1,
 *   testBadPerClass: 2,
 * });
 * manifest.samples.length; // 7 classes x 5 images = 35
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function generateSynthDataset(
  dir: string,
  options: SynthOptions = {},
): Promise<SynthManifest> {
  const params = resolveSynthParams(options);
  const concurrency = requireInteger(
    "concurrency",
    options.concurrency ?? DEFAULT_SYNTH_OPTIONS.concurrency,
    1,
    256,
  );
  try {
    await Deno.stat(join(dir, "synth.json"));
    throw new Error(`synthetic dataset: ${dir} already holds a dataset (synth.json)`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const plan = planSamples(params);
  const folders = new Set(
    plan.flatMap((p) => [dirname(p.image), ...(p.mask ? [dirname(p.mask)] : [])]),
  );
  for (const folder of folders) await Deno.mkdir(join(dir, folder), { recursive: true });

  const samples: SynthManifestEntry[] = [];
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const track = (write: Promise<void>) => {
    // Record the first failure instead of rejecting, so no rejection goes unhandled while
    // the next image renders.
    const settled = write.catch((e) => {
      failure ??= e;
    }).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  for (const item of plan) {
    if (failure !== undefined) break;
    const sample = renderSynthSample({
      ...item,
      size: params.size,
      seed: params.seed,
      family: params.family,
      confusability: params.confusability,
    });
    track(writePng(join(dir, item.image), sample.image, params.size, 3));
    if (item.mask) {
      if (!sample.mask) throw new Error(`synthetic dataset: no mask rendered for ${item.image}`);
      track(writePng(join(dir, item.mask), sample.mask, params.size, 1));
    }
    samples.push({
      image: item.image,
      className: item.className,
      split: item.split,
      defect: item.defect,
      ...(item.mask ? { mask: item.mask } : {}),
      ...(sample.sourceClass ? { sourceClass: sample.sourceClass } : {}),
    });
    while (pending.size >= concurrency) await Promise.race(pending);
  }
  await Promise.all(pending);
  if (failure !== undefined) {
    throw new Error(`synthetic dataset: writing into ${dir} failed`, { cause: failure });
  }
  const manifest: SynthManifest = {
    format: SYNTH_FORMAT,
    params,
    classes: params.classes.map((name) => {
      const c = synthFamily(params.family, params.confusability).getClass(name);
      const nearest = params.family === "confusable"
        ? nearestConfusableClass(name, params.confusability ?? 0)
        : undefined;
      return {
        name,
        kind: c.kind,
        description: c.description,
        defects: [...c.defects],
        ...(nearest ? { nearestClass: nearest } : {}),
      };
    }),
    samples,
  };
  await Deno.writeTextFile(join(dir, "synth.json"), JSON.stringify(manifest, null, 1) + "\n");
  return manifest;
}

/**
 * The manifest in `dir/synth.json`, or undefined when there is none or it is not a synthetic
 * dataset manifest (unreadable JSON, wrong format): either way the folder is not a usable cache.
 */
export async function readSynthManifest(dir: string): Promise<SynthManifest | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "synth.json"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    const value = JSON.parse(text);
    if (value?.format !== SYNTH_FORMAT || !value.params || !Array.isArray(value.samples)) {
      return undefined;
    }
    return value as SynthManifest;
  } catch {
    return undefined;
  }
}

/**
 * The records of a generated dataset, with absolute paths.
 *
 * @example
 * ```ts ignore
 * import { readSynthManifest, synthDatasetFromManifest } from "./generate.ts";
 * const manifest = await readSynthManifest("/data/synth");
 * if (manifest) synthDatasetFromManifest("/data/synth", manifest).records.length;
 * ```
 */
export function synthDatasetFromManifest(root: string, manifest: SynthManifest): Dataset {
  const abs = resolve(root);
  const records: SampleRecord[] = manifest.samples.map((s) => ({
    imagePath: join(abs, s.image),
    className: s.className,
    split: s.split,
    defect: s.defect,
    label: s.defect === "good" ? 0 : 1,
    ...(s.mask ? { maskPath: join(abs, s.mask) } : {}),
  }));
  return {
    name: "synth",
    root: abs,
    layout: "mvtec",
    records,
    classes: [...manifest.params.classes],
  };
}

async function isNonEmptyDirectory(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return true;
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The synthetic dataset in `dir`, generated only if `dir/synth.json` is absent or records
 * different parameters. A new dataset is written into a temporary folder beside `dir` and
 * renamed into place, so `dir` never holds a half-written dataset. A non-empty `dir` that is
 * not a synthetic dataset is never overwritten (error).
 *
 * @example
 * ```ts ignore
 * import { ensureSynthDataset } from "./generate.ts";
 * const info = await ensureSynthDataset(".cache/synth64", { size: 64 });
 * console.log(info.generated, info.dataset.records.length);
 * ```
 */
export async function ensureSynthDataset(
  dir: string,
  options: SynthOptions = {},
): Promise<SynthDatasetInfo> {
  const root = resolve(dir);
  const params = resolveSynthParams(options);
  const reuse = async (): Promise<SynthDatasetInfo | undefined> => {
    const existing = await readSynthManifest(root);
    if (!existing || !sameSynthParams(existing.params, params)) return undefined;
    return {
      root,
      generated: false,
      manifest: existing,
      dataset: synthDatasetFromManifest(root, existing),
    };
  };
  const cached = await reuse();
  if (cached) return cached;
  if (options.ifDifferent === "error") {
    const existing = await readSynthManifest(root);
    if (existing) {
      throw new Error(
        `synthetic dataset: ${root} holds a dataset made with other settings ` +
          `(${diffSynthParams(existing.params, params).join(", ")}); refusing to replace it`,
      );
    }
  }
  // A folder with a synth.json (even a stale or damaged one) was written by this generator.
  const ours = await Deno.stat(join(root, "synth.json")).then(() => true, () => false);
  if (!ours && await isNonEmptyDirectory(root)) {
    throw new Error(
      `synthetic dataset: ${root} is not empty and has no synth.json; refusing to overwrite it`,
    );
  }
  const parent = dirname(root);
  await Deno.mkdir(parent, { recursive: true });
  const temp = await Deno.makeTempDir({ dir: parent, prefix: `.${basename(root)}.tmp-` });
  // Temporary folders are private (0700); the dataset should be as readable as a mkdir'd one.
  if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o755);
  let manifest: SynthManifest;
  try {
    manifest = await generateSynthDataset(temp, options);
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw e;
  }
  const old = `${temp}.old`;
  let movedOld = false;
  try {
    try {
      await Deno.rename(root, old);
      movedOld = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(temp, root);
  } catch (e) {
    // Another process may have put a matching dataset in place meanwhile.
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    const raced = await reuse();
    if (raced) return raced;
    throw new Error(`synthetic dataset: could not move the new dataset into ${root}`, {
      cause: e,
    });
  }
  if (movedOld) await Deno.remove(old, { recursive: true });
  return { root, generated: true, manifest, dataset: synthDatasetFromManifest(root, manifest) };
}
