/**
 * Pretrains `small_resnet` on a procedural pattern-classification task (32 generated classes,
 * nothing from the anomaly data) and writes the shipped weights:
 * `weights/small_resnet.safetensors` and `weights/small_resnet.json` (how they were made).
 *
 * ```sh
 * deno run -A scripts/pretrain_backbone.ts                      # wasm, 12 minutes
 * deno run -A scripts/pretrain_backbone.ts --backend cpu --minutes 0.2 --out /tmp/s.safetensors
 * deno run -A scripts/pretrain_backbone.ts --steps 3000         # fixed steps: reproducible
 * ```
 * @module
 */
import { parseArgs } from "@std/cli";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { encodeSafetensors } from "../lib/backbones/safetensors.ts";
import { resnetChannels, resnetParameterShapes } from "../lib/backbones/resnet.ts";
import { SMALL_RESNET_CONFIG } from "../lib/backbones/small_resnet.ts";
import { pretrainBackbone } from "../lib/backbones/pretrain.ts";
import { PRETRAIN_CLASSES } from "../lib/backbones/pretrain_task.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/util/atomic_write.ts";

const USAGE = `usage: deno run -A scripts/pretrain_backbone.ts [options]
  --minutes M     training time budget (default 12)
  --steps N       train exactly N steps instead (reproducible regardless of speed)
  --backend B     wasm (default), cpu, ... (wasm needs lib/backend/wasm_conv_grads.ts)
  --seed S        seed of initialisation, data and held-out sets (default 0)
  --batch B       batch size (default 32)
  --lr R          peak Adam learning rate (default 2e-3)
  --sizes LIST    image sides drawn per batch (default 64,64,64,96)
  --held-out N    held-out images per size (default 1024)
  --dtype D       F32 (default) or F16 storage
  --out PATH      weights file (default weights/small_resnet.safetensors)
  --info PATH     description file (default: --out with .json)`;

async function main(): Promise<void> {
  const args = parseArgs(Deno.args, {
    string: [
      "minutes",
      "steps",
      "backend",
      "seed",
      "batch",
      "lr",
      "sizes",
      "held-out",
      "dtype",
      "out",
      "info",
    ],
    boolean: ["help"],
  });
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const known = new Set([
    "_",
    "minutes",
    "steps",
    "backend",
    "seed",
    "batch",
    "lr",
    "sizes",
    "held-out",
    "dtype",
    "out",
    "info",
    "help",
  ]);
  const unknown = Object.keys(args).filter((k) => !known.has(k));
  if (unknown.length > 0 || args._.length > 0) {
    throw new Error(
      `unknown arguments: ${[...unknown.map((k) => `--${k}`), ...args._].join(" ")}\n${USAGE}`,
    );
  }
  const minutes = numberFlag("minutes", args.minutes, 12);
  const steps = args.steps === undefined ? undefined : integerFlag("steps", args.steps);
  const seed = integerFlag("seed", args.seed ?? "0");
  const batchSize = integerFlag("batch", args.batch ?? "32");
  const learningRate = numberFlag("lr", args.lr, 2e-3);
  const sizes = (args.sizes ?? "64,64,64,96").split(",").map((s: string) =>
    integerFlag("sizes", s)
  );
  const heldOutCount = integerFlag("held-out", args["held-out"] ?? "1024");
  const dtype = (args.dtype ?? "F32").toUpperCase();
  if (dtype !== "F32" && dtype !== "F16") {
    throw new Error(`--dtype must be F32 or F16, got ${dtype}`);
  }
  const out = args.out ?? new URL("../weights/small_resnet.safetensors", import.meta.url).pathname;
  const info = args.info ?? out.replace(/\.safetensors$/, "") + ".json";

  const backend = await selectBackend({ requested: args.backend ?? "wasm" });
  const config = SMALL_RESNET_CONFIG;
  const budget = steps !== undefined ? `${steps} steps` : `${minutes} minutes`;
  console.error(`pretraining ${config.name} for ${budget}, seed ${seed}, batch ${batchSize}`);
  const result = await pretrainBackbone({
    config,
    seed,
    seconds: steps === undefined ? minutes * 60 : undefined,
    steps,
    batchSize,
    sizes,
    learningRate,
    heldOutCount,
    log: (line) => console.error(line),
  });

  const parameterCount = [...resnetParameterShapes(config)]
    .filter(([name]) => !name.includes("running_"))
    .reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  const metadata = {
    format: "pt",
    architecture: config.name,
    description: "small_resnet (ResNet-18 layout, half width, stages 1-3) pretrained on " +
      "procedural patterns; see small_resnet.json",
  };
  const bytes = encodeSafetensors(result.stateDict, { dtype, metadata });
  await writeFileAtomic(out, bytes);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  await writeJsonAtomic(info, {
    name: config.name,
    file: {
      path: out.split("/").pop(),
      dtype,
      bytes: bytes.length,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
      note: "torchvision parameter names, conv weights OIHW; fc.* is the pretraining " +
        "classifier (ignored by the backbone loader)",
    },
    architecture: {
      ...config,
      channels: resnetChannels(config),
      strides: [4, 8, 16],
      parameters: parameterCount,
      input: "NHWC RGB, ImageNet mean/std normalised",
    },
    task: {
      description: "classify procedurally generated patterns (stripes at 4 angles x 2 " +
        "frequencies, checkerboards, dots, rings, spirals, waves, bricks, single shapes, " +
        "gradients, noise at two scales, mosaics, line segments, ...) with random colours, " +
        "placement and scale; photometric augmentation (contrast, brightness, blur, noise); " +
        "no flips; images generated on the fly from the seed; shares nothing with the " +
        "anomaly-detection data",
      classes: PRETRAIN_CLASSES,
      sizes,
      generator: "lib/backbones/pretrain_task.ts",
    },
    training: {
      optimizer: "Adam(0.9, 0.999), linear warm-up 3% then cosine decay to 2%",
      peakLearningRate: learningRate,
      loss: "softmax cross-entropy, head: global average pool of layer3 + linear",
      batchSize,
      budget,
      seed,
      steps: result.steps,
      images: result.images,
      trainSeconds: Math.round(result.trainSeconds),
      batchNorm: "batch statistics in training (running stats momentum 0.1); final running " +
        "statistics recomputed as the mean over 16 training-mode batches (precise BN)",
    },
    results: {
      finalTrainLoss: round(result.finalTrainLoss),
      finalTrainAccuracy: round(result.finalTrainAccuracy),
      trainNote: "mean over the last 10% of steps, training-mode BN",
      heldOut: result.heldOut.map((h) => ({
        ...h,
        accuracy: round(h.accuracy),
        loss: round(h.loss),
      })),
      heldOutNote: "fixed held-out sets from their own seeds, eval-mode BN, evaluated through " +
        "the frozen loader's code path; chance is " + round(1 / PRETRAIN_CLASSES.length),
      history: result.history,
    },
    backend: { name: backend.name, tfjs: tf.version_core },
    date: new Date().toISOString(),
    command: `deno run -A scripts/pretrain_backbone.ts ${Deno.args.join(" ")}`.trim(),
    deno: Deno.version.deno,
  });
  console.error(`wrote ${out} (${(bytes.length / 1e6).toFixed(2)} MB) and ${info}`);
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name} must be a positive number, got "${value}"`);
  }
  return n;
}

function integerFlag(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`--${name} must be a whole number, got "${value}"`);
  }
  return n;
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
