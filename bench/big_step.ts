/**
 * One RD + CCL training step at real size: WideResNet-50-2 (random weights), 256 x 256 images,
 * batch 16 by default, on wasm unless `--backend` says otherwise. Prints the step times, the
 * wasm heap's high-water mark, TF.js's peak tensor bytes during a step and the process RSS, as
 * one JSON line, and where the wasm heap goes, phase by phase (stderr; `phases` in the JSON):
 * the heap size (its high-water mark: wasm memory never shrinks), the bytes held by live
 * tensors (counted exactly, by watching the backend's allocations) and their peak since the
 * previous phase. The heap minus the tensor bytes is what the wasm kernels hold themselves
 * (XNNPACK's packed convolution weights, scratch) plus allocator slack.
 * `--out FILE` also writes the record (with machine, load and git commit) into FILE's `runs`
 * (JSON), replacing an earlier run of the same configuration; `--note TEXT` adds to its
 * conditions (what else ran). The trainer frees each tape node's saved tensors and output
 * gradients as soon as the backward pass is past it (`lib/methods/components/free_backward.ts`),
 * as in training; `--no-free-backward` measures TF.js's engine untouched.
 * Not a `deno bench` file: one step takes tens of seconds on a CPU.
 *
 * ```sh
 * deno run -A bench/big_step.ts [--batch 16] [--size 256] [--steps 2] [--backend wasm]
 *   [--backbone wide_resnet50_2:random] [--window 3] [--no-ccl] [--no-free-backward]
 *   [--out results/big_step.json] [--note TEXT]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { loadBackbone, parseBackboneSpec } from "../lib/backbones/registry.ts";
import { cclObjective } from "../lib/ccl/ccl_objective.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod } from "../lib/methods/registry.ts";
import { rdPresetFor } from "../lib/methods/rd/config.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";
import { writeJsonAtomic } from "../lib/util/atomic_write.ts";
import { gitRevision } from "../lib/util/git_revision.ts";
import { type HeapPhase, watchWasmHeap } from "./wasm_heap_watch.ts";

const args = parseArgs(Deno.args, {
  string: ["backend", "backbone", "out", "note"],
  boolean: ["ccl", "free-backward"],
  default: {
    batch: 16,
    size: 256,
    steps: 2,
    window: 3,
    backend: "wasm",
    backbone: "wide_resnet50_2:random",
    ccl: true,
    "free-backward": true,
  },
  negatable: ["ccl", "free-backward"],
});
const batch = Number(args.batch);
const size = Number(args.size);
const steps = Number(args.steps);
const window = Number(args.window);
for (const [name, value] of [["batch", batch], ["size", size], ["steps", steps]] as const) {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`bench/big_step.ts: --${name} must be a positive integer, got ${value}`);
  }
}

const loadBefore = Deno.loadavg();
const backend = await selectBackend({ requested: args.backend, log: false });
const freeBackward = args["free-backward"];
const heapWatch = watchWasmHeap();
const phases: HeapPhase[] = [];
const phase = (name: string) => {
  if (!heapWatch) return;
  const at = heapWatch.mark(name);
  phases.push(at);
  const mib = (b: number) => Math.round(b / 2 ** 20);
  console.error(
    `[big_step] ${name}: heap ${mib(at.heapBytes)} MiB, tensors ${mib(at.tensorBytes)} MiB ` +
      `(peak since last ${mib(at.peakTensorBytes)} MiB)`,
  );
};
phase("backend ready");
const backbone = await loadBackbone(args.backbone);
phase("backbone loaded");
const rng = mulberry32(1);
const values = () =>
  Float32Array.from({ length: batch * size * size * 3 }, () => randomNormal(rng));
const images = tf.tensor4d(values(), [batch, size, size, 3]);
const augmented = tf.tensor4d(values(), [batch, size, size, 3]);
const classIds = Int32Array.from({ length: batch }, (_, i) => i % 4);
// The architecture's official RD preset, named explicitly: a `:random` backbone's name carries
// the seed, which the preset lookup by backbone name does not recognise.
const preset = rdPresetFor(parseBackboneSpec(args.backbone).architecture);
const method = createMethod("rd", backbone, { ...preset }, 0);
const trainableParameters = method.parameterGroups()
  .flatMap((group) => group.variables)
  .reduce((sum, variable) => sum + variable.size, 0);
const ccl = args.ccl ? cclObjective(method, { window }, 0) : undefined;
const baseObjective = ccl ?? methodObjective(method);
// The forward pass (with its gradient tape) ends when `losses` returns: a phase mark there.
const objective = {
  ...baseObjective,
  losses: (batch: Parameters<typeof baseObjective.losses>[0]) => {
    const losses = baseObjective.losses(batch);
    phase(`step ${stepIndex}: forward (tape built)`);
    return losses;
  },
};
let stepIndex = 0;
const trainer = createTrainer(objective, { clipNorm: 5, freeBackward });
phase("model, objective and trainer created");

/** The wasm module's linear memory never shrinks: its size is the heap's high-water mark. */
function wasmHeapBytes(): number | undefined {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8?.byteLength;
}

const stepSeconds: number[] = [];
let peakTensorBytes = 0;
let losses: Record<string, number> = {};
// A step that exhausts the wasm heap aborts the module; the run is still recorded (with the
// error and the phases reached), so "does not fit" is a measured result too.
let failure: string | undefined;
try {
  await runSteps();
} catch (error) {
  failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  phase(`step ${stepIndex}: failed (${failure})`);
}
async function runSteps(): Promise<void> {
  for (let step = 0; step < steps; step++) {
    stepIndex = step;
    objective.beginStep?.(step);
    const started = performance.now();
    if (step === steps - 1 && steps > 1) {
      // The last step is profiled for its peak tensor bytes (profiling slows it a little, so
      // its time is not counted).
      const profile = await tf.profile(async () => {
        losses = await trainer.step({ images, augmented, classIds });
      });
      peakTensorBytes = profile.peakBytes;
    } else {
      losses = await trainer.step({ images, augmented, classIds });
      stepSeconds.push((performance.now() - started) / 1000);
    }
    phase(`step ${step}: done (backward, clipping, optimiser)`);
  }
}
const heap = wasmHeapBytes();
const mib = (bytes: number | undefined) => bytes === undefined ? null : Math.round(bytes / 2 ** 20);
const record = {
  step: `RD${args.ccl ? " + CCL" : ""} train step`,
  fits: failure === undefined,
  error: failure ?? null,
  backbone: backbone.name,
  backend: backend.name,
  batch,
  size,
  window: args.ccl ? window : null,
  freeBackward,
  rdParametersM: Number((trainableParameters / 1e6).toFixed(1)),
  stepSeconds: stepSeconds.map((s) => Number(s.toFixed(2))),
  peakTensorMiB: mib(peakTensorBytes),
  wasmHeapMiB: mib(heap),
  rssMiB: mib(Deno.memoryUsage().rss),
  losses,
  tensorsAfter: failure === undefined ? tf.memory().numTensors : null,
  peakLiveTensorMiB: heapWatch ? mib(heapWatch.peakTensorBytes) : null,
  phases: phases.map((p) => ({
    phase: p.name,
    heapMiB: mib(p.heapBytes),
    tensorMiB: mib(p.tensorBytes),
    peakTensorMiBSincePrevious: mib(p.peakTensorBytes),
  })),
};
console.log(JSON.stringify(record));
if (args.out) {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/model name\s*:\s*(.+)/)?.[1]?.trim() ?? "unknown";
  const run = {
    ...record,
    command: `deno run -A bench/big_step.ts ${Deno.args.join(" ")}`,
    date: new Date().toISOString(),
    machine: {
      cpu,
      cores: navigator.hardwareConcurrency,
      memoryBytes: Deno.systemMemoryInfo().total,
    },
    conditions: {
      loadAverageBefore: loadBefore,
      loadAverageAfter: Deno.loadavg(),
      note: "shared machine: other processes (other helpers' tests and benchmarks) held cores" +
        (args.note ? `; ${args.note}` : ""),
    },
    git: await gitRevision(),
  };
  // One file holds every configuration run: a new run replaces the one of the same step,
  // backbone, batch, size and backward mode.
  const previous = await Deno.readTextFile(args.out).then(JSON.parse).catch(() => ({}));
  const key = (r: typeof record) =>
    `${r.step}|${r.backbone}|${r.backend}|${r.batch}|${r.size}${r.freeBackward ? "|free" : ""}`;
  const runs = (Array.isArray(previous.runs) ? previous.runs : [])
    .filter((r: typeof record) => key(r) !== key(record));
  await writeJsonAtomic(args.out, {
    about: "bench/big_step.ts: one RD / RD + CCL training step at real size on one backend",
    runs: [...runs, run],
  });
}
if (failure !== undefined) Deno.exit(1);
trainer.dispose();
ccl?.dispose();
method.dispose();
tf.dispose([images, augmented]);
backbone.dispose();
