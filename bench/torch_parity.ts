/**
 * Checks `bench/torch_rd.py` (the PyTorch copy behind the benchmark's speed ratios) output for
 * output against our model: the demo's RD (shipped small_resnet backbone, RD as
 * `buildUnitModel` builds the joint unit of the demo, seeded) with and without CCL.
 *
 * For each case it exports our exact weights (every variable by its checkpoint name: conv
 * weights HWIO, 2x2 transposed-conv weights [in, 2, 2, out], batch-norm vectors), a fixed batch
 * (ImageNet-normalised NHWC images, the augmented view, class ids) and, for CCL, the step's
 * random choices (the different-class negative image per scale, and the feature noise when the
 * case has it) as raw little-endian float32/int32 files with a JSON manifest; runs
 * `bench/torch_rd.py --parity`; and compares, per quantity, the largest absolute difference and
 * that difference relative to the largest magnitude of the quantity (torch's):
 * encoder features, eval-mode decoder outputs, pooled embedding, anomaly maps and image scores
 * (before and after the step), the losses, the gradient of every trainable variable, the
 * gradient norm, and every variable after one clipped Adam step (weights and batch-norm running
 * statistics), plus the CCL pixel matches (count of pixels matched differently).
 *
 * ```sh
 * deno run -A bench/torch_parity.ts [--batch 16] [--size 64] [--tolerance 1e-5] [--clip 5]
 *   [--python /usr/bin/python3] [--dir .cache/torch_parity] [--json]
 * ```
 * Exits 1 when a quantity exceeds the tolerance, 2 when torch is not available.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import { join } from "@std/path";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import type { Backbone } from "../lib/backbones/types.ts";
import type { CCLObjective } from "../lib/ccl/ccl_objective.ts";
import type { CCLConfig } from "../lib/ccl/config.ts";
import { spatialNoiseMask } from "../lib/ccl/feature_noise.ts";
import { pickDifferentClass } from "../lib/ccl/pairing.ts";
import { matchPixels } from "../lib/ccl/pixel_matching.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../lib/data/image.ts";
import { resolveConfig } from "../lib/experiment/config.ts";
import { DEMO_BASE } from "../lib/experiment/demo.ts";
import { buildUnitModel } from "../lib/experiment/model.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { TrainBatch } from "../lib/methods/types.ts";
import { deriveSeed, mulberry32 } from "../lib/util/random.ts";

/** One parity case: the demo's RD with these CCL options (`null`: plain RD). */
export interface ParityCase {
  name: string;
  ccl: Record<string, unknown> | null;
}

/**
 * The default cases: RD; RD + CCL with the demo's CCL settings and feature noise off; and the
 * same with feature noise on every step (probability 1), its values exported.
 */
export const PARITY_CASES: readonly ParityCase[] = [
  { name: "rd", ccl: null },
  { name: "rd+ccl", ccl: { enableNoise: false } },
  { name: "rd+ccl+noise", ccl: { noiseProbability: 1 } },
];

/** Options of {@linkcode runParity}. */
export interface ParityOptions {
  /** Python with torch (default /usr/bin/python3). */
  python?: string;
  batch?: number;
  size?: number;
  /** Global-norm clip of the step (default 5, the benchmark's). */
  clipNorm?: number;
  /** Where the exchanged files go (default `.cache/torch_parity`). */
  dir?: string;
  /** Largest relative difference that passes (default 1e-5). */
  tolerance?: number;
  cases?: readonly ParityCase[];
  /** Seed of the model (as the demo's `seed`) and of the batch. */
  seed?: number;
}

/** One compared quantity. */
export interface ParityRow {
  case: string;
  quantity: string;
  /** Elements compared. */
  count: number;
  maxAbs: number;
  /** maxAbs / the largest |torch value| of the quantity. */
  maxRel: number;
  /** For quantities torch also computes in float64: ours vs float64, relative. */
  oursVsFloat64?: number;
  /** torch float32 vs float64, relative (float32 rounding of the same function). */
  torchVsFloat64?: number;
  ok: boolean;
}

/** What {@linkcode runParity} found. */
export interface ParityReport {
  backend: string;
  torch: string;
  batch: number;
  size: number;
  clipNorm: number;
  tolerance: number;
  rows: ParityRow[];
  ok: boolean;
}

type Values = Float32Array | Int32Array;

interface Exported {
  file: string;
  shape: number[];
  dtype: "float32" | "int32";
  layout?: string;
}

/** Writes tensors as raw files plus a manifest entry each. */
class Exporter {
  readonly tensors: Record<string, Exported> = {};
  constructor(readonly dir: string) {}

  async put(name: string, values: Values, shape: number[], layout?: string): Promise<void> {
    const dtype = values instanceof Int32Array ? "int32" : "float32";
    const file = name.replaceAll("/", "_") + (dtype === "int32" ? ".i32" : ".f32");
    await Deno.writeFile(
      join(this.dir, file),
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    );
    this.tensors[name] = { file, shape, dtype, ...(layout ? { layout } : {}) };
  }
}

/** Our layout of a variable's values, as the manifest states it. */
function layoutOf(shape: readonly number[]): string {
  if (shape.length === 4) return shape[1] === 2 && shape[2] === 2 ? "IHWO" : "HWIO";
  return shape.length === 1 ? "C" : `rank${shape.length}`;
}

/** A seeded batch of ImageNet-normalised NHWC images from uniform [0, 1] pixels. */
function normalisedImages(batch: number, size: number, seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const values = new Float32Array(batch * size * size * 3);
  for (let i = 0; i < values.length; i++) {
    const c = i % 3;
    values[i] = (rng() - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
  }
  return tf.tensor4d(values, [batch, size, size, 3]);
}

async function read(t: tf.Tensor): Promise<Values> {
  return (await t.data()) as Values;
}

/**
 * The random choices CCL makes in step 0, drawn as `lib/ccl` draws them (same generators, same
 * order), so torch can be given the very same ones: per scale the negative image of each image,
 * and the noise added to each scale's projected features (when the coin falls).
 */
function cclStepDraws(
  cclSeed: number,
  config: Readonly<CCLConfig>,
  classIds: Int32Array,
  shapes: [number, number, number, number][],
) {
  const pairRng = mulberry32(deriveSeed(cclSeed, "ccl.local/0"));
  const negatives = shapes.map(() => pickDifferentClass(classIds, pairRng));
  let noise: tf.Tensor4D[] | undefined;
  if (config.enableNoise && config.enableProjector) {
    const noiseRng = mulberry32(deriveSeed(cclSeed, "ccl.noise/0"));
    if (noiseRng() < config.noiseProbability) {
      noise = shapes.map((shape) =>
        tf.tidy(() => {
          const [b, h, w] = shape;
          const mask = spatialNoiseMask(b, h, w, config.noiseFraction, noiseRng);
          const seed = Math.floor(noiseRng() * 2 ** 31);
          return tf.mul(tf.randomNormal(shape, 0, config.noiseStd, "float32", seed), mask);
        })
      );
    }
  }
  return { negatives, noise };
}

interface Ours {
  values: Map<string, Values>;
  learningRate: number;
  /** Quantities compared with a count of differing entries, not a tolerance. */
  discrete: Set<string>;
}

/** Runs one case on our side and exports what torch needs; returns our outputs. */
async function ourCase(
  backbone: Backbone,
  parityCase: ParityCase,
  options: Required<Pick<ParityOptions, "batch" | "size" | "clipNorm" | "seed">>,
  dir: string,
): Promise<Ours> {
  const { batch, size, clipNorm, seed } = options;
  const config = resolveConfig({ ...DEMO_BASE, seed, ccl: parityCase.ccl });
  const model = buildUnitModel(config, backbone, "joint");
  const { method, objective } = model;
  const exporter = new Exporter(dir);
  const values = new Map<string, Values>();
  const discrete = new Set<string>();
  const images = normalisedImages(batch, size, seed + 1);
  const augmented = normalisedImages(batch, size, seed + 2);
  const classIds = Int32Array.from({ length: batch }, (_, i) => i % 4);
  const batchData: TrainBatch = { images, augmented, classIds };
  const ccl = parityCase.ccl ? objective as CCLObjective : undefined;
  const predictOptions = ccl ? ccl.predictOptions() : {};
  try {
    const named = objective.namedVariables();
    for (const [name, variable] of named) {
      await exporter.put(
        `var/${name}`,
        await read(variable),
        variable.shape,
        layoutOf(variable.shape),
      );
    }
    await exporter.put("images", await read(images), images.shape);
    await exporter.put("augmented", await read(augmented), augmented.shape);
    await exporter.put("classIds", classIds, [batch]);

    const evalOutputs = async (tag: string) => {
      const { target, reconstruction } = method.reconstructedFeatures!(images, predictOptions);
      for (let s = 0; s < target.length; s++) {
        values.set(`${tag}/encoder${s}`, await read(target[s]));
        values.set(`${tag}/decoder${s}`, await read(reconstruction[s]));
      }
      const compact = objective.compactFeatures(images);
      values.set(`${tag}/compact`, await read(compact));
      const { maps, scores } = objective.predict(images);
      values.set(`${tag}/maps`, await read(maps));
      values.set(`${tag}/scores`, await read(scores));
      tf.dispose([...target, ...reconstruction, compact, maps, scores]);
    };
    await evalOutputs("before");

    let draws: ReturnType<typeof cclStepDraws> | undefined;
    if (ccl) {
      const frozen = backbone.apply(images);
      const frozenAug = backbone.apply(augmented);
      const cclSeed = deriveSeed(config.seed, "joint/ccl");
      draws = cclStepDraws(cclSeed, ccl.config, classIds, frozen.map((f) => f.shape));
      for (let s = 0; s < frozen.length; s++) {
        await exporter.put(`negatives${s}`, draws.negatives[s], [batch]);
        if (draws.noise) {
          await exporter.put(`noise${s}`, await read(draws.noise[s]), draws.noise[s].shape);
        }
        const matches = matchPixels(frozen[s], frozenAug[s], ccl.config.window);
        values.set(`matches${s}`, await read(matches));
        discrete.add(`matches${s}`);
        matches.dispose();
      }
      tf.dispose([...frozen, ...frozenAug, ...(draws.noise ?? [])]);
    }

    // Gradients of the step's total loss, then the same step through the trainer (clip + Adam).
    // The gradient pass updates the batch-norm running statistics, so they are put back first.
    const trainable = objective.parameterGroups().flatMap((g) => g.variables);
    const stableName = new Map([...named].map(([name, v]) => [v.name, name]));
    const frozenState = [...named].filter(([, v]) => !v.trainable).map(([, v]) =>
      [v, tf.clone(v)] as const
    );
    objective.beginStep?.(0);
    const kept: Record<string, tf.Scalar> = {};
    const { grads, value } = tf.variableGrads(() => {
      const losses = objective.losses(batchData);
      for (const [key, loss] of Object.entries(losses)) kept[key] = tf.keep(loss);
      return losses.total;
    }, trainable);
    if (ccl && ccl.lastStepNoisy !== (draws?.noise !== undefined)) {
      throw new Error(
        `bench/torch_parity.ts: case ${parityCase.name}: our step ${
          ccl.lastStepNoisy ? "added" : "did not add"
        } feature noise, the replayed draws say otherwise (lib/ccl changed how it draws?)`,
      );
    }
    for (const [engine, grad] of Object.entries(grads)) {
      values.set(`grad/${stableName.get(engine)}`, await read(grad));
    }
    tf.dispose(Object.values(grads));
    const lossValues: Record<string, number> = {};
    for (const [key, loss] of Object.entries(kept)) lossValues[key] = (await loss.data())[0];
    tf.dispose([...Object.values(kept), value]);
    for (const [variable, saved] of frozenState) {
      variable.assign(saved);
      saved.dispose();
    }
    objective.beginStep?.(0);
    const trainer = createTrainer(objective, { clipNorm });
    const stepLosses = await trainer.step(batchData);
    for (const key of ["total", "method", "global", "local"]) {
      if (!(key in lossValues)) continue;
      if (lossValues[key] !== stepLosses[key]) {
        throw new Error(
          `bench/torch_parity.ts: case ${parityCase.name}: loss ${key} ${lossValues[key]} in the ` +
            `gradient pass but ${stepLosses[key]} in the trainer's step (not reproducible?)`,
        );
      }
      values.set(`loss/${key}`, Float32Array.of(lossValues[key]));
    }
    values.set("gradNorm", Float32Array.of(trainer.lastGradNorm));
    trainer.dispose();
    for (const [name, variable] of named) values.set(`var/${name}`, await read(variable));
    await evalOutputs("after");
    await Deno.writeTextFile(
      join(dir, "manifest.json"),
      JSON.stringify(
        {
          case: parityCase.name,
          about: "raw little-endian float32 (.f32) / int32 (.i32); activations NHWC; conv " +
            "weights HWIO; 2x2 transposed-conv weights IHWO ([in, 2, 2, out]); var/<name> " +
            "are our checkpoint names (rd.*, ccl.projector.*)",
          batch,
          size,
          seed,
          clipNorm,
          learningRate: objective.parameterGroups()[0].learningRate,
          ccl: ccl ? ccl.config : null,
          tensors: exporter.tensors,
        },
        null,
        1,
      ),
    );
    // Our side too, in the same format, for inspecting a difference.
    const mine = new Exporter(join(dir, "ours"));
    await Deno.mkdir(mine.dir, { recursive: true });
    for (const [name, v] of values) await mine.put(name, v, [v.length]);
    await Deno.writeTextFile(
      join(mine.dir, "ours.json"),
      JSON.stringify({ tensors: mine.tensors }),
    );
    return { values, discrete, learningRate: objective.parameterGroups()[0].learningRate };
  } finally {
    tf.dispose([images, augmented]);
    model.dispose();
  }
}

async function readTorch(dir: string): Promise<{ values: Map<string, Values>; torch: string }> {
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "torch.json")));
  const values = new Map<string, Values>();
  for (const [name, entry] of Object.entries(manifest.tensors as Record<string, Exported>)) {
    const bytes = await Deno.readFile(join(dir, entry.file));
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    values.set(name, entry.dtype === "int32" ? new Int32Array(buffer) : new Float32Array(buffer));
  }
  return { values, torch: manifest.torch };
}

interface Diff {
  maxAbs: number;
  maxRel: number;
  count: number;
}

/** Largest |a - b| over `keys`, and that over the largest |b|. */
function diff(a: Map<string, Values>, b: Map<string, Values>, keys: [string, string][]): Diff {
  let maxAbs = 0, scale = 0, count = 0;
  for (const [ka, kb] of keys) {
    const x = a.get(ka), y = b.get(kb);
    if (!x || !y) throw new Error(`bench/torch_parity.ts: ${!x ? ka : kb} missing`);
    if (x.length !== y.length) {
      throw new Error(`bench/torch_parity.ts: ${ka}: ${x.length} vs ${y.length} values`);
    }
    for (let i = 0; i < x.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    count += x.length;
  }
  return { maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs, count };
}

/**
 * The rows of one case. A quantity passes when ours is within `tolerance` (relative) of torch
 * float32; gradients and losses, which torch also computes in float64, pass too when ours is no
 * farther from the float64 result than twice torch float32's own distance from it (both are then
 * float32 rounding of the same function). Weights after torch's own step may differ by up to 2·lr
 * per element (Adam's first step is about lr·sign(g), and a gradient below float32 noise can
 * flip); the optimiser is checked exactly by torch's clip + Adam applied to our gradients.
 */
function compare(
  caseName: string,
  ours: Ours,
  torch: Map<string, Values>,
  tolerance: number,
  learningRate: number,
): ParityRow[] {
  const rows: ParityRow[] = [];
  const row = (quantity: string, d: Diff, ok: boolean, extra: Partial<ParityRow> = {}) =>
    rows.push({ case: caseName, quantity, ...d, ok, ...extra });
  const same = (keys: string[]) => keys.map((k): [string, string] => [k, k]);
  const plain = (quantity: string, keys: string[]) => {
    if (keys.length === 0) return;
    const d = diff(ours.values, torch, same(keys));
    row(quantity, d, d.maxRel <= tolerance);
  };
  const withReference = (quantity: string, keys: string[]) => {
    if (keys.length === 0) return;
    const d = diff(ours.values, torch, same(keys));
    const reference = keys.map((k): [string, string] => [k, `f64/${k}`]);
    const oursVs64 = diff(ours.values, torch, reference).maxRel;
    const torchVs64 = diff(torch, torch, reference).maxRel;
    row(quantity, d, d.maxRel <= tolerance || oursVs64 <= 2 * torchVs64, {
      oursVsFloat64: oursVs64,
      torchVsFloat64: torchVs64,
    });
  };
  const keys = [...ours.values.keys()];
  const withPrefix = (prefix: string) => keys.filter((k) => k.startsWith(prefix));
  const vars = withPrefix("var/");
  const trainable = vars.filter((k) => ours.values.has(`grad/${k.slice(4)}`));
  for (const tag of ["before", "after"]) {
    for (let s = 0; s < 3; s++) plain(`${tag}: encoder scale ${s + 1}`, [`${tag}/encoder${s}`]);
    for (let s = 0; s < 3; s++) {
      plain(`${tag}: decoder scale ${s + 1} (eval)`, [`${tag}/decoder${s}`]);
    }
    plain(`${tag}: pooled embedding (eval)`, [`${tag}/compact`]);
    plain(`${tag}: anomaly maps`, [`${tag}/maps`]);
    plain(`${tag}: image scores`, [`${tag}/scores`]);
    if (tag !== "before") continue;
    for (const key of withPrefix("loss/")) withReference(`step: ${key}`, [key]);
    const grads = withPrefix("grad/");
    withReference(`step: gradients, all ${grads.length} trainable`, grads);
    for (const key of grads.filter((k) => SAMPLED_GRADIENTS.some((s) => k.endsWith(s)))) {
      withReference(`step: ${key}`, [key]);
    }
    withReference("step: gradient norm (before clipping)", ["gradNorm"]);
    const own = diff(ours.values, torch, same(trainable));
    row("step: weights after torch's own step", own, own.maxAbs <= 2 * learningRate * 1.001);
    const fromOurs = diff(
      ours.values,
      torch,
      trainable.map((k): [string, string] => [k, `varFromOurGrads/${k.slice(4)}`]),
    );
    row(
      "step: weights after torch's clip + Adam on our gradients",
      fromOurs,
      fromOurs.maxRel <= tolerance,
    );
    plain("step: BN running stats after", vars.filter((k) => k.includes("running_")));
  }
  for (const key of keys.filter((k) => ours.discrete.has(k))) {
    const a = ours.values.get(key)!, b = torch.get(key)!;
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
    row(`CCL ${key}: pixels matched differently`, {
      count: a.length,
      maxAbs: differ,
      maxRel: differ / a.length,
    }, differ === 0);
  }
  return rows;
}

/** Gradients listed one by one in the table (suffixes of our names). */
const SAMPLED_GRADIENTS = [
  "rd.bn.conv1.weight",
  "rd.bn.bn_layer.0.conv1.weight",
  "rd.decoder.layer1.0.upsample.0.weight",
  "rd.decoder.layer3.0.conv2.weight",
  "rd.decoder.layer3.0.bn2.weight",
  "ccl.projector.scale0.conv0.weight",
  "ccl.projector.scale2.conv3.weight",
];

/** Whether `python` imports torch. */
export async function torchAvailable(python = "/usr/bin/python3"): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", "import torch, numpy"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Runs every case on our side (current TF.js backend), then the torch copy on the exported
 * files, and compares.
 */
export async function runParity(options: ParityOptions = {}): Promise<ParityReport> {
  const python = options.python ?? "/usr/bin/python3";
  const settings = {
    batch: options.batch ?? 16,
    size: options.size ?? 64,
    clipNorm: options.clipNorm ?? 5,
    seed: options.seed ?? 0,
  };
  const tolerance = options.tolerance ?? 1e-5;
  const cases = options.cases ?? PARITY_CASES;
  const root = options.dir ?? join(".cache", "torch_parity");
  await Deno.remove(root, { recursive: true }).catch(() => {});
  const backbone = await loadBackbone("small_resnet");
  const ours: Ours[] = [];
  const folders = cases.map((_, i) => `case${i}`);
  try {
    for (const [i, parityCase] of cases.entries()) {
      const dir = join(root, folders[i]);
      await Deno.mkdir(dir, { recursive: true });
      ours.push(await ourCase(backbone, parityCase, settings, dir));
    }
  } finally {
    backbone.dispose();
  }
  await Deno.writeTextFile(join(root, "cases.json"), JSON.stringify(folders));
  const script = new URL("./torch_rd.py", import.meta.url).pathname;
  const run = await new Deno.Command(python, {
    args: [script, "--threads", "1", "--parity", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) {
    throw new Error(
      `bench/torch_rd.py --parity failed (exit ${run.code}):\n${
        new TextDecoder().decode(run.stderr)
      }`,
    );
  }
  const rows: ParityRow[] = [];
  let torchVersion = "";
  for (const [i, parityCase] of cases.entries()) {
    const torch = await readTorch(join(root, folders[i], "torch"));
    torchVersion = torch.torch;
    rows.push(...compare(parityCase.name, ours[i], torch.values, tolerance, ours[i].learningRate));
  }
  return {
    backend: tf.getBackend(),
    torch: torchVersion,
    ...settings,
    tolerance,
    rows,
    ok: rows.every((r) => r.ok),
  };
}

const exp = (x: number | undefined) => (x === undefined ? "" : x.toExponential(2));

/** The report as a Markdown table. */
export function parityTable(report: ParityReport): string {
  const lines = [
    `torch ${report.torch} vs ccl-ad (${report.backend}), batch ${report.batch}, ` +
    `${report.size} px, clip ${report.clipNorm}, tolerance ${report.tolerance} relative`,
    "",
    "| case | quantity | values | max abs diff | max rel diff | ours vs f64 | torch vs f64 | ok |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of report.rows) {
    lines.push(
      `| ${r.case} | ${r.quantity} | ${r.count} | ${r.maxAbs.toExponential(2)} | ` +
        `${r.maxRel.toExponential(2)} | ${exp(r.oursVsFloat64)} | ${exp(r.torchVsFloat64)} | ` +
        `${r.ok ? "yes" : "**no**"} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["python", "batch", "size", "tolerance", "clip", "dir", "ccl"],
    boolean: ["json", "help"],
  });
  if (args.help) {
    console.log(
      "deno run -A bench/torch_parity.ts [--batch 16] [--size 64] [--tolerance 1e-5] [--clip 5] " +
        "[--python /usr/bin/python3] [--dir .cache/torch_parity] [--json]",
    );
    Deno.exit(0);
  }
  const python = args.python ?? "/usr/bin/python3";
  if (!(await torchAvailable(python))) {
    console.error(`bench/torch_parity.ts: ${python} cannot import torch and numpy`);
    Deno.exit(2);
  }
  await selectBackend({ log: false });
  const report = await runParity({
    python,
    batch: args.batch ? Number(args.batch) : undefined,
    size: args.size ? Number(args.size) : undefined,
    tolerance: args.tolerance ? Number(args.tolerance) : undefined,
    clipNorm: args.clip ? Number(args.clip) : undefined,
    dir: args.dir,
    cases: args.ccl ? [{ name: `custom ${args.ccl}`, ccl: JSON.parse(args.ccl) }] : undefined,
  });
  console.log(args.json ? JSON.stringify(report, null, 1) : parityTable(report));
  Deno.exit(report.ok ? 0 : 1);
}
