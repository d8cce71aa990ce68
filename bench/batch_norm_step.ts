/**
 * The fused wasm batch norm against the composite of TF.js ops, in the demo's RD training
 * step (batch 16, 64 x 64, small_resnet, clip norm 5) on `wasm`: rounds alternate between the
 * two paths in one process (the kernels are unregistered for the composite rounds), so load
 * from other processes falls on both alike. Prints the median and quartiles of the step time
 * per path, the median of the per-round time ratio, the kernel calls per step (tf.profile,
 * nested kernels included) and the loss of each path's first step from the same weights, as
 * one JSON line.
 * Not a `deno bench` file: the point is the interleaving.
 *
 * ```sh
 * deno run -A bench/batch_norm_step.ts [--rounds 15] [--warmup 3]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { registerWasmBatchNorm, unregisterWasmBatchNorm } from "../lib/backend/wasm_batch_norm.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

const args = parseArgs(Deno.args, { default: { rounds: 15, warmup: 3 } });
const rounds = Number(args.rounds), warmup = Number(args.warmup);
for (const [name, value] of [["rounds", rounds], ["warmup", warmup]] as const) {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`bench/batch_norm_step.ts: --${name} must be an integer >= 0, got ${value}`);
  }
}

const backend = await selectBackend({ requested: "wasm", log: false });
const backbone = await loadBackbone("small_resnet");
const batchSize = 16, size = 64;
const rng = mulberry32(1);
const images = tf.tensor4d(
  Float32Array.from({ length: batchSize * size * size * 3 }, () => randomNormal(rng)),
  [batchSize, size, size, 3],
);
const classIds = Int32Array.from({ length: batchSize }, (_, i) => i % 4);

type Path = "fused" | "composite";
const PATHS: readonly Path[] = ["fused", "composite"];

function use(path: Path): void {
  if (path === "fused") registerWasmBatchNorm();
  else unregisterWasmBatchNorm();
}

/** A fresh RD model and trainer: every path starts from the same seed-0 weights. */
function freshTrainer() {
  return createTrainer(methodObjective(createMethod("rd", backbone, {}, 0)), { clipNorm: 5 });
}

// The first step of each path from identical weights: the losses agree to float32 rounding.
const firstLoss: Record<string, number> = {};
for (const path of PATHS) {
  use(path);
  firstLoss[path] = (await freshTrainer().step({ images, classIds })).total;
}

const trainer = freshTrainer();
const kernelCalls: Record<string, number> = {};
const kernelsByName: Record<string, Record<string, number>> = {};
for (const path of PATHS) {
  use(path);
  await trainer.step({ images, classIds });
  const profile = await tf.profile(async () => {
    await trainer.step({ images, classIds });
  });
  kernelCalls[path] = profile.kernels.length;
  const names: Record<string, number> = {};
  for (const k of profile.kernels) names[k.name] = (names[k.name] ?? 0) + 1;
  kernelsByName[path] = names;
}

const times: Record<Path, number[]> = { fused: [], composite: [] };
for (let round = 0; round < warmup + rounds; round++) {
  // Alternate which path goes first, so neither always follows the other.
  const order = round % 2 === 0 ? PATHS : [...PATHS].reverse();
  for (const path of order) {
    use(path);
    const started = performance.now();
    await trainer.step({ images, classIds });
    if (round >= warmup) times[path].push(performance.now() - started);
  }
}
registerWasmBatchNorm();

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at), hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

const summary = (path: Path) => ({
  medianMs: Number(quantile(times[path], 0.5).toFixed(1)),
  q1Ms: Number(quantile(times[path], 0.25).toFixed(1)),
  q3Ms: Number(quantile(times[path], 0.75).toFixed(1)),
  kernelCalls: kernelCalls[path],
  firstLoss: firstLoss[path],
});
const batchNormKernels = (path: Path) =>
  Object.fromEntries(
    Object.entries(kernelsByName[path]).filter(([name]) =>
      /BatchNorm|Mean|Sum|Rsqrt|Sub|Mul|SquaredDifference|Square|RealDiv|Add/.test(name)
    ),
  );
console.log(JSON.stringify({
  bench: "RD train step, batch 16, 64x64, small_resnet, wasm",
  backend: backend.name,
  rounds,
  warmup,
  loadAverage: Deno.loadavg(),
  fused: summary("fused"),
  composite: summary("composite"),
  speedup: Number((quantile(times.composite, 0.5) / quantile(times.fused, 0.5)).toFixed(3)),
  // Each round's two steps ran back to back: their ratio is less exposed to load drifts.
  pairedSpeedup: Number(
    quantile(times.composite.map((t, i) => t / times.fused[i]), 0.5).toFixed(3),
  ),
  elementWiseKernels: {
    fused: batchNormKernels("fused"),
    composite: batchNormKernels("composite"),
  },
}));
