/**
 * The speed report: writes `results/bench.json` with the machine, the conditions (load
 * average before and after: this machine is shared) and medians of
 *
 * - one training step and inference (images/s) of every registered method, and RD + CCL, at
 *   64 and 256 px (batch 16, the shipped small_resnet backbone; `--sizes` to change);
 * - data loading (decode + resize + normalise, no cache) in images/s;
 * - metric evaluation of 100 and 1,000 maps of 256²;
 * - peak memory (TF.js's peak bytes in one step, the wasm heap, the process RSS);
 * - when Debian's `python3-torch` is installed, `bench/torch_rd.py` (our PyTorch copy of the
 *   demo's RD and RD + CCL) with 1 and 2 threads, interleaved round by round with our own
 *   steps at 64 px, and the ratios ours / PyTorch against the targets of issue 9; with
 *   `--parity`, first `bench/torch_parity.ts` checks the copy output for output against our model
 *   and the table goes into the report.
 *
 * ```sh
 * deno run -A bench/report.ts [--quick] [--rounds 3] [--sizes 64,256] [--out results/bench.json]
 *   [--parity]
 * ```
 * Targets are reported here, never asserted in tests.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import { join } from "@std/path";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { wasmThreadsInfo } from "../lib/backend/wasm_threads.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import type { Backbone } from "../lib/backbones/types.ts";
import { cclObjective } from "../lib/ccl/ccl_objective.ts";
import { loadBatch } from "../lib/data/batches.ts";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import { evaluate } from "../lib/metrics/evaluate.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod, METHOD_NAMES } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import type { AnomalyMethod, Objective, SyntheticBatch } from "../lib/methods/types.ts";
import { writeJsonAtomic } from "../lib/util/atomic_write.ts";
import { gitRevision } from "../lib/util/git_revision.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";
import { parityTable, runParity } from "./torch_parity.ts";

const args = parseArgs(Deno.args, {
  string: ["out", "sizes", "rounds", "python", "measure"],
  boolean: ["quick", "help", "parity"],
  default: { out: "results/bench.json", sizes: "64,256", rounds: "3" },
});
if (args.help) {
  console.log(
    "deno run -A bench/report.ts [--quick] [--rounds N] [--sizes 64,256] [--out FILE] [--python BIN] " +
      "[--parity]",
  );
  Deno.exit(0);
}
const quick = args.quick;
const sizes = args.sizes.split(",").map(Number);
const rounds = Number(args.rounds);
const batchSize = 16;
const reps = quick ? 1 : 3;

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

async function machine() {
  let cpu = "unknown";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/model name\s*:\s*(.+)/)?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
  const memory = Deno.systemMemoryInfo();
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryBytes: memory.total,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    hostname: Deno.hostname(),
  };
}

function wasmHeapBytes(): number | undefined {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8?.buffer.byteLength;
}

let rssPeak = 0;
function sampleRss(): void {
  rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
}

function images(size: number, seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  return tf.tensor4d(
    Float32Array.from({ length: batchSize * size * size * 3 }, () => randomNormal(rng)),
    [batchSize, size, size, 3],
  );
}

interface StepFigures {
  trainStepMs: number;
  trainImagesPerSecond: number;
  inferMs: number;
  inferImagesPerSecond: number;
  /** TF.js's peak tensor bytes during one training step. */
  stepPeakBytes: number;
}

/** Times `fn` `count` times (after `warmup` calls) and returns each duration in ms. */
async function timeIt(fn: () => unknown, count: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
    sampleRss();
  }
  return times;
}

/** Synthetic anomalies for methods that train on them (DRAEM, DeSTSeg), from [0, 1] images. */
function syntheticBatch(method: AnomalyMethod, size: number): SyntheticBatch | undefined {
  if (!method.prepareBatch) return undefined;
  const rng = mulberry32(3);
  const raw = Float32Array.from({ length: batchSize * size * size * 3 }, () => rng());
  const made = method.prepareBatch({ images: raw, shape: [batchSize, size, size] }, rng);
  return {
    images: tf.tensor4d(made.images, [batchSize, size, size, 3]),
    masks: tf.tensor4d(made.masks, [batchSize, size, size, 1]),
  };
}

/** A training step and inference of one objective at one size, ready to time. */
function stepper({ objective, method }: Built, size: number) {
  const x = images(size, 1);
  const augmented = images(size, 2);
  const synthetic = syntheticBatch(method, size);
  const classIds = Int32Array.from({ length: batchSize }, (_, i) => i % 4);
  const trainer = createTrainer(objective, { clipNorm: 5 });
  const batch = { images: x, augmented, classIds, synthetic };
  return {
    train: () => trainer.step(batch),
    infer: async () => {
      const { maps, scores } = objective.predict(x);
      await maps.data();
      tf.dispose([maps, scores]);
    },
    peakBytes: () => tf.profile(() => void trainer.step(batch)).then((p) => p.peakBytes),
    dispose: () => {
      trainer.dispose();
      tf.dispose([x, augmented]);
      if (synthetic) tf.dispose([synthetic.images, synthetic.masks]);
    },
  };
}

async function measureObjective(
  built: Built,
  size: number,
  count: number,
): Promise<StepFigures> {
  const s = stepper(built, size);
  try {
    const train = median(await timeIt(s.train, count));
    const infer = median(await timeIt(s.infer, count));
    return {
      trainStepMs: train,
      trainImagesPerSecond: batchSize / train * 1000,
      inferMs: infer,
      inferImagesPerSecond: batchSize / infer * 1000,
      stepPeakBytes: await s.peakBytes(),
    };
  } finally {
    s.dispose();
  }
}

interface Built {
  objective: Objective;
  method: AnomalyMethod;
}

function objectiveFor(name: string, backbone: Backbone, ccl: boolean): Built {
  const method = createMethod(name, backbone, {}, 0);
  return { method, objective: ccl ? cclObjective(method, {}, 0) : methodObjective(method) };
}

/**
 * Each method and size in its own subprocess (`--measure NAME:SIZE`): a run that exhausts the
 * wasm heap then fails alone, and each figure has its own peak memory.
 */
async function methodFigures() {
  type Figures = StepFigures & { wasmHeapBytes?: number; rssPeakBytes: number };
  const out: Record<string, Record<string, Figures | { error: string }>> = {};
  for (const label of [...METHOD_NAMES, "rd+ccl"]) {
    out[label] = {};
    for (const size of sizes) {
      log(`${label} at ${size} px`);
      const child = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname, "--measure", `${label}:${size}`]
          .concat(quick ? ["--quick"] : []),
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(child.stdout).trim().split("\n").at(-1) ?? "";
      try {
        out[label][`${size}px`] = JSON.parse(text);
      } catch {
        const stderr = new TextDecoder().decode(child.stderr).trim().split("\n").slice(-3);
        out[label][`${size}px`] = { error: `exit ${child.code}: ${stderr.join(" | ")}` };
      }
      const result = out[label][`${size}px`];
      if ("error" in result) log(`${label} at ${size} px failed: ${result.error}`);
    }
  }
  return out;
}

/** The `--measure NAME:SIZE` child: one objective at one size, printed as one JSON line. */
async function measureOne(spec: string): Promise<void> {
  const [label, sizeText] = spec.split(":");
  const size = Number(sizeText);
  await selectBackend({ log: false });
  const backbone = await loadBackbone("small_resnet");
  try {
    const built = objectiveFor(label === "rd+ccl" ? "rd" : label, backbone, label === "rd+ccl");
    const figures = await measureObjective(built, size, size > 64 ? 1 : reps);
    sampleRss();
    console.log(
      JSON.stringify({ ...figures, wasmHeapBytes: wasmHeapBytes(), rssPeakBytes: rssPeak }),
    );
  } catch (error) {
    console.log(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  }
}

async function dataLoading() {
  const root = join(".cache", "bench-synth-256");
  const info = await ensureSynthDataset(root, {
    size: 256,
    trainPerClass: 16,
    testGoodPerClass: 1,
    testBadPerClass: 1,
    classes: ["woven", "pill"],
  });
  const records = info.dataset.records.filter((r) => r.split === "train").slice(0, 32);
  const out: Record<string, number> = {};
  for (const size of sizes) {
    const times = await timeIt(() => loadBatch(records, { size }), reps);
    out[`${size}px`] = records.length / median(times) * 1000;
  }
  return { imagesPerSecond: out, images: records.length, source: "synthetic 256 px PNG" };
}

function metricInput(count: number) {
  const side = 256;
  const rng = mulberry32(count);
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const map = new Float32Array(side * side);
    const mask = new Uint8Array(side * side);
    const [cr, cc, r] = [rng() * side, rng() * side, 4 + rng() * 20];
    for (let p = 0; p < side * side; p++) {
      const d = Math.hypot(Math.floor(p / side) - cr, (p % side) - cc);
      if (i % 2 === 1 && d < r) mask[p] = 1;
      map[p] = rng() * 0.3 + (d < r ? 0.4 * rng() : 0);
    }
    maps.push(map);
    masks.push(mask);
  }
  return {
    scores: maps.map((m) => m.reduce((a, b) => Math.max(a, b), 0)),
    maps,
    masks,
    classNames: maps.map((_, i) => `class${i % 5}`),
    shape: [side, side] as [number, number],
  };
}

function metricTimes() {
  const out: Record<string, number> = {};
  for (const count of [100, 1000]) {
    const input = metricInput(count);
    sampleRss();
    const start = performance.now();
    evaluate(input);
    out[`maps${count}Ms`] = performance.now() - start;
    sampleRss();
  }
  return out;
}

async function findTorchPython(): Promise<{ python: string; version: string } | undefined> {
  for (const python of [args.python, "/usr/bin/python3", "python3"].filter(Boolean) as string[]) {
    try {
      const out = await new Deno.Command(python, {
        args: ["-c", "import torch; print(torch.__version__)"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.success) return { python, version: new TextDecoder().decode(out.stdout).trim() };
    } catch { /* not there */ }
  }
  return undefined;
}

interface TorchRun {
  rdStepMs: number;
  cclStepMs: number;
  inferMs: number;
}

async function runTorch(python: string, threads: number): Promise<TorchRun> {
  const script = new URL("./torch_rd.py", import.meta.url).pathname;
  const out = await new Deno.Command(python, {
    args: [script, "--threads", String(threads), "--size", "64", "--batch", String(batchSize)]
      .concat(["--reps", String(reps), "--warmup", "1"]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`bench/torch_rd.py failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

/** Ours and PyTorch's steps at 64 px, alternated round by round so both see the same load. */
async function torchComparison(backbone: Backbone) {
  const torch = await findTorchPython();
  if (!torch) {
    return {
      available: false,
      note: "python3-torch is not installed (apt-get install -y python3-torch)",
    };
  }
  let parity;
  if (args.parity) {
    log("parity of the torch copy (bench/torch_parity.ts)");
    const report = await runParity({ python: torch.python, batch: batchSize });
    console.error(parityTable(report));
    parity = { ok: report.ok, tolerance: report.tolerance, rows: report.rows };
  }
  const rd = stepper(objectiveFor("rd", backbone, false), 64);
  const ccl = stepper(objectiveFor("rd", backbone, true), 64);
  const ours: TorchRun[] = [];
  const t1: TorchRun[] = [];
  const t2: TorchRun[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      log(`torch comparison round ${round + 1}/${rounds}`);
      ours.push({
        rdStepMs: median(await timeIt(rd.train, reps)),
        cclStepMs: median(await timeIt(ccl.train, reps)),
        inferMs: median(await timeIt(rd.infer, reps)),
      });
      t1.push(await runTorch(torch.python, 1));
      t2.push(await runTorch(torch.python, 2));
    }
  } finally {
    rd.dispose();
    ccl.dispose();
  }
  const med = (runs: TorchRun[]): TorchRun => ({
    rdStepMs: median(runs.map((r) => r.rdStepMs)),
    cclStepMs: median(runs.map((r) => r.cclStepMs)),
    inferMs: median(runs.map((r) => r.inferMs)),
  });
  const [o, p1, p2] = [med(ours), med(t1), med(t2)];
  const ratio = (p: TorchRun) => ({
    rdStep: o.rdStepMs / p.rdStepMs,
    cclStep: o.cclStepMs / p.cclStepMs,
    infer: o.inferMs / p.inferMs,
  });
  return {
    available: true,
    python: torch.python,
    torchVersion: torch.version,
    parity: parity ?? "not run (--parity)",
    setting: `batch ${batchSize}, 64 px, small_resnet-shaped model; medians of ${reps} steps ` +
      `per round, median over ${rounds} interleaved rounds`,
    rounds: ours.map((_, i) => ({ ours: ours[i], torch1: t1[i], torch2: t2[i] })),
    ours: o,
    torch1Thread: p1,
    torch2Threads: p2,
    ratioVs1Thread: ratio(p1),
    ratioVs2Threads: ratio(p2),
    targetsVs1Thread: { rdStep: 2.5, cclStep: 3, infer: 2.5 },
  };
}

if (import.meta.main && args.measure) {
  await measureOne(args.measure);
  Deno.exit(0);
}

if (import.meta.main) {
  const started = new Date();
  const loadBefore = Deno.loadavg();
  const backend = await selectBackend({ log: false });
  const backbone = await loadBackbone("small_resnet");
  log(`backend ${backend.name}, ${sizes.join("/")} px, ${reps} reps`);
  const methods = await methodFigures();
  const loading = await dataLoading();
  log("metrics");
  const metrics = metricTimes();
  const torch = await torchComparison(backbone);
  sampleRss();
  const report = {
    generatedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    machine: await machine(),
    conditions: {
      loadAverageBefore: loadBefore,
      loadAverageAfter: Deno.loadavg(),
      note: "shared machine: other processes may hold cores; compare ratios taken in the " +
        "same rounds, not absolute times across reports",
    },
    software: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      tfjs: tf.version_core,
      git: await gitRevision(),
    },
    backend: { ...backend, wasmThreads: wasmThreadsInfo() },
    setting: { batchSize, sizes, backbone: "small_resnet", reps, quick },
    methods,
    dataLoading: loading,
    metricEvaluation: metrics,
    memory: { wasmHeapBytes: wasmHeapBytes(), rssPeakBytes: rssPeak },
    torch,
  };
  await writeJsonAtomic(args.out, report);
  console.log(JSON.stringify(
    { methods, dataLoading: loading.imagesPerSecond, metrics, torch: torch },
    null,
    1,
  ));
  log(`wrote ${args.out}`);
  Deno.exit(0);
}
