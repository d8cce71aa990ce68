/**
 * The GPU check behind `bench/gpu_check.sh`: prints the WebGPU adapter, times RD and RD + CCL
 * training steps (and inference) at each size on the `webgpu` backend with a
 * WideResNet-50-2-sized backbone of random weights, and writes the figures as JSON.
 *
 * The step is written here (gradients, our own Adam from `lib/optim`, losses read back with
 * `await data()`) because synchronous reads (`dataSync`) crash on WebGPU under Deno.
 *
 * ```sh
 * deno run -A bench/gpu_check.ts [--sizes 64,256] [--batch 16] [--reps 3]
 *   [--backbone wide_resnet50_2:random] [--out results/gpu_check.json] [--allow-software]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import { cclObjective } from "../lib/ccl/ccl_objective.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod } from "../lib/methods/registry.ts";
import type { Objective, TrainBatch } from "../lib/methods/types.ts";
import { createOptimizer } from "../lib/optim/mod.ts";
import { writeJsonAtomic } from "../lib/util/atomic_write.ts";
import { gitRevision } from "../lib/util/git_revision.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

const args = parseArgs(Deno.args, {
  string: ["sizes", "batch", "reps", "backbone", "out"],
  boolean: ["allow-software"],
  default: {
    sizes: "64,256",
    batch: "16",
    reps: "3",
    backbone: "wide_resnet50_2:random",
    out: "results/gpu_check.json",
  },
});
const sizes = args.sizes.split(",").map(Number);
const batchSize = Number(args.batch);
const reps = Number(args.reps);

interface AdapterLike {
  info?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

async function describeAdapter(): Promise<Record<string, unknown>> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<AdapterLike | null> } }).gpu;
  if (!gpu) throw new Error("navigator.gpu is not available: no WebGPU in this Deno");
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  const info = adapter.info ?? {};
  const fields = ["vendor", "architecture", "device", "description", "isFallbackAdapter"];
  const out: Record<string, unknown> = {};
  for (const key of fields) out[key] = info[key];
  out.maxBufferSize = adapter.limits?.maxBufferSize;
  out.maxStorageBufferBindingSize = adapter.limits?.maxStorageBufferBindingSize;
  return out;
}

function tensor(shape: number[], seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b);
  return tf.tensor4d(Float32Array.from({ length: n }, () => randomNormal(rng)), shape as never);
}

/** One training step with our own Adam per parameter group; resolves with the total loss. */
function makeStep(objective: Objective, batch: TrainBatch) {
  const groups = objective.parameterGroups();
  const variables = groups.flatMap((g) => g.variables);
  const optimizers = groups.map((g) =>
    createOptimizer({ kind: "adam", learningRate: g.learningRate, beta1: 0.5 }, g.variables)
  );
  return {
    step: async () => {
      const { value, grads } = tf.variableGrads(() => objective.losses(batch).total, variables);
      groups.forEach((group, i) => {
        const own = group.variables.filter((v) => grads[v.name]);
        optimizers[i].applyGradients(own.map((v) => ({ name: v.name, tensor: grads[v.name] })));
      });
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    },
    dispose: () => optimizers.forEach((o) => o.dispose()),
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

if (import.meta.main) {
  const adapter = await describeAdapter();
  console.log(`adapter: ${JSON.stringify(adapter)}`);
  if (adapter.isFallbackAdapter && !args["allow-software"]) {
    throw new Error("only a software adapter; pass --allow-software for a dry run");
  }
  const backend = await selectBackend({ requested: "webgpu", log: true });
  const backbone = await loadBackbone(args.backbone, { seed: 0 });
  const runs: Record<string, unknown>[] = [];
  for (const size of sizes) {
    for (const ccl of [false, true]) {
      const label = `${ccl ? "rd+ccl" : "rd"} ${size}px batch ${batchSize}`;
      const images = tensor([batchSize, size, size, 3], 1);
      const augmented = tensor([batchSize, size, size, 3], 2);
      const classIds = Int32Array.from({ length: batchSize }, (_, i) => i % 4);
      const method = createMethod("rd", backbone, {}, 0);
      const objective = ccl ? cclObjective(method, {}, 0) : methodObjective(method);
      const { step, dispose } = makeStep(objective, { images, augmented, classIds });
      try {
        const first = await timed(step); // includes shader compilation
        const times: number[] = [];
        for (let i = 0; i < reps; i++) times.push(await timed(step));
        const inferTimes: number[] = [];
        for (let i = 0; i <= reps; i++) {
          inferTimes.push(
            await timed(async () => {
              const { maps, scores } = objective.predict(images);
              await maps.data();
              tf.dispose([maps, scores]);
            }),
          );
        }
        inferTimes.shift();
        const result = {
          label,
          ccl,
          size,
          batchSize,
          firstStepMs: first,
          stepMs: median(times),
          trainImagesPerSecond: batchSize / median(times) * 1000,
          inferMs: median(inferTimes),
          inferImagesPerSecond: batchSize / median(inferTimes) * 1000,
          tensorBytes: tf.memory().numBytes,
        };
        console.log(JSON.stringify(result));
        runs.push(result);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(`${label}: ${message}`);
        runs.push({ label, ccl, size, batchSize, error: message });
      } finally {
        dispose();
        tf.dispose([images, augmented]);
      }
    }
  }
  await writeJsonAtomic(args.out, {
    generatedAt: new Date().toISOString(),
    adapter,
    backend,
    backbone: args.backbone,
    software: { deno: Deno.version.deno, tfjs: tf.version_core, git: await gitRevision() },
    runs,
  });
  console.log(`wrote ${args.out}`);
  Deno.exit(0);
}
