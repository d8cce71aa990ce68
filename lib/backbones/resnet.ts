/**
 * ResNets (torchvision/timm layout, stages 1-3) as frozen multi-scale feature extractors:
 * ResNet-18/34 (basic blocks), ResNet-50 and WideResNet-50-2 (bottleneck blocks), and any
 * smaller variant described by a {@linkcode ResNetConfig}. Weights use the torchvision/timm
 * parameter names (`conv1.weight`, `layer1.0.bn1.running_mean`, `layer2.0.downsample.0.weight`,
 * ...) and PyTorch OIHW layout, so a torchvision `state_dict` saved with safetensors loads as is.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Backbone } from "./types.ts";
import { type BatchNormParams, type ConvWeight, FrozenConvBn, torchMaxPool2d } from "./layers.ts";
import { FLOAT_DTYPES, type SafetensorsFile, tensorToFloat32 } from "./safetensors.ts";
import { mulberry32, randomNormal } from "../util/random.ts";

/** The architecture of a ResNet truncated after its third stage. */
export interface ResNetConfig {
  /** e.g. "resnet18". */
  name: string;
  /** Basic blocks (two 3x3 convs) or bottleneck blocks (1x1, 3x3, 1x1; expansion 4). */
  block: "basic" | "bottleneck";
  /** Blocks in layer1, layer2 and layer3. */
  layers: readonly number[];
  /** Channels of the stem conv (`conv1`). */
  stemChannels: number;
  /** Kernel size of the stem conv (7 in torchvision; stride 2, padding k/2). */
  stemKernel: number;
  /** `planes` of each stage (64, 128, 256 in torchvision). */
  planes: readonly number[];
  /**
   * Bottleneck inner width = planes * widthFactor (torchvision `width_per_group / 64`):
   * 1 for ResNet-50, 2 for WideResNet-50-2. Ignored by basic blocks.
   */
  widthFactor: number;
}

/** The torchvision architectures (stages 1-3). */
export const RESNET_CONFIGS: Readonly<Record<string, ResNetConfig>> = {
  resnet18: resnetConfig("resnet18", "basic", [2, 2, 2], 1),
  resnet34: resnetConfig("resnet34", "basic", [3, 4, 6], 1),
  resnet50: resnetConfig("resnet50", "bottleneck", [3, 4, 6], 1),
  wide_resnet50_2: resnetConfig("wide_resnet50_2", "bottleneck", [3, 4, 6], 2),
};

function resnetConfig(
  name: string,
  block: "basic" | "bottleneck",
  layers: number[],
  widthFactor: number,
): ResNetConfig {
  return {
    name,
    block,
    layers,
    stemChannels: 64,
    stemKernel: 7,
    planes: [64, 128, 256],
    widthFactor,
  };
}

/** Downsampling of stages 1-3 relative to the input (stem /2, max-pool /2, then /2 per stage). */
export const RESNET_STRIDES: readonly number[] = [4, 8, 16];

/** One residual block as it appears in the parameter names. */
export interface BlockPlan {
  /** e.g. "layer2.0". */
  prefix: string;
  block: "basic" | "bottleneck";
  inChannels: number;
  /** Channels inside the block (conv1/conv2 outputs). */
  width: number;
  outChannels: number;
  /** Stride of the block's 3x3 conv (conv1 in basic blocks, conv2 in bottlenecks, as torchvision). */
  stride: number;
  /** Whether the shortcut is a 1x1 conv + BN (`downsample.0`, `downsample.1`). */
  downsample: boolean;
}

/** The blocks of each stage, in order. */
export function resnetBlocks(config: ResNetConfig): BlockPlan[][] {
  checkConfig(config);
  const expansion = config.block === "basic" ? 1 : 4;
  let inChannels = config.stemChannels;
  return config.layers.map((count, stage) => {
    const planes = config.planes[stage];
    const outChannels = planes * expansion;
    const width = config.block === "basic" ? planes : planes * config.widthFactor;
    const blocks: BlockPlan[] = [];
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      blocks.push({
        prefix: `layer${stage + 1}.${b}`,
        block: config.block,
        inChannels,
        width,
        outChannels,
        stride,
        downsample: stride !== 1 || inChannels !== outChannels,
      });
      inChannels = outChannels;
    }
    return blocks;
  });
}

function checkConfig(config: ResNetConfig): void {
  if (config.layers.length !== 3 || config.planes.length !== 3) {
    throw new Error(`${config.name}: layers and planes must list 3 stages (layer1-layer3)`);
  }
  if (config.layers.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${config.name}: each stage needs at least one block, got [${config.layers}]`);
  }
}

/** Channels of the three returned stages. */
export function resnetChannels(config: ResNetConfig): number[] {
  return resnetBlocks(config).map((stage) => stage[stage.length - 1].outChannels);
}

const BN_FIELDS = ["weight", "bias", "running_mean", "running_var"] as const;

/** Every parameter the loader needs, by torchvision name, with its PyTorch shape. */
export function resnetParameterShapes(config: ResNetConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const convBn = (conv: string, bn: string, o: number, i: number, k: number) => {
    shapes.set(`${conv}.weight`, [o, i, k, k]);
    for (const field of BN_FIELDS) shapes.set(`${bn}.${field}`, [o]);
  };
  convBn("conv1", "bn1", config.stemChannels, 3, config.stemKernel);
  for (const block of resnetBlocks(config).flat()) {
    const p = block.prefix;
    if (block.block === "basic") {
      convBn(`${p}.conv1`, `${p}.bn1`, block.width, block.inChannels, 3);
      convBn(`${p}.conv2`, `${p}.bn2`, block.outChannels, block.width, 3);
    } else {
      convBn(`${p}.conv1`, `${p}.bn1`, block.width, block.inChannels, 1);
      convBn(`${p}.conv2`, `${p}.bn2`, block.width, block.width, 3);
      convBn(`${p}.conv3`, `${p}.bn3`, block.outChannels, block.width, 1);
    }
    if (block.downsample) {
      convBn(`${p}.downsample.0`, `${p}.downsample.1`, block.outChannels, block.inChannels, 1);
    }
  }
  return shapes;
}

/** Float tensors by torchvision name, each with its PyTorch shape. */
export type StateDict = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * Tensors a stage-1-3 extractor does not need and skips without complaint: the classifier
 * (`fc.*`), the fourth stage (`layer4.*`) and BatchNorm's `num_batches_tracked` counters.
 */
export function isIgnoredResNetTensor(name: string): boolean {
  return name.startsWith("fc.") || name.startsWith("layer4.") ||
    name === "num_batches_tracked" || name.endsWith(".num_batches_tracked");
}

/** What {@linkcode stateDictFromSafetensors} returns. */
export interface LoadedStateDict {
  stateDict: StateDict;
  /** Names present in the file but skipped (see {@linkcode isIgnoredResNetTensor}). */
  ignored: string[];
}

/**
 * Picks the tensors `config` needs out of a safetensors file and checks them. Every missing,
 * mis-shaped, non-float or unexpected tensor is listed in one error, with expected vs actual
 * shapes. A `module.` prefix (saved from DataParallel) is stripped.
 */
export function stateDictFromSafetensors(
  config: ResNetConfig,
  file: SafetensorsFile,
): LoadedStateDict {
  const stripModule = !file.tensors.has("conv1.weight") && file.tensors.has("module.conv1.weight");
  const found: FoundTensor[] = [...file.tensors].map(([fileName, entry]) => ({
    name: stripModule && fileName.startsWith("module.") ? fileName.slice(7) : fileName,
    fileName,
    dtype: entry.dtype,
    shape: entry.shape,
  }));
  const { used, ignored } = checkTensors(config, found, file.source);
  const stateDict: StateDict = new Map();
  for (const tensor of used) {
    const entry = file.tensors.get(tensor.fileName)!;
    stateDict.set(tensor.name, {
      shape: [...tensor.shape],
      data: tensorToFloat32(entry, file.source),
    });
  }
  return { stateDict, ignored };
}

interface FoundTensor {
  /** The torchvision name. */
  name: string;
  /** The name as stored (may carry a `module.` prefix). */
  fileName: string;
  dtype: string;
  shape: readonly number[];
}

/**
 * Checks tensors against the parameters `config` needs; throws one error listing every
 * missing, mis-shaped, non-float or unexpected tensor. Returns the needed ones in
 * {@linkcode resnetParameterShapes} order and the names skipped as ignorable.
 */
function checkTensors(
  config: ResNetConfig,
  found: readonly FoundTensor[],
  source: string,
): { used: FoundTensor[]; ignored: string[] } {
  const expected = resnetParameterShapes(config);
  const problems: string[] = [];
  const ignored: string[] = [];
  const byName = new Map<string, FoundTensor>();
  for (const tensor of found) {
    if (expected.has(tensor.name)) {
      byName.set(tensor.name, tensor);
    } else if (isIgnoredResNetTensor(tensor.name)) {
      ignored.push(tensor.fileName);
    } else {
      problems.push(
        `unexpected tensor ${tensor.fileName} (${tensor.dtype} [${tensor.shape.join(", ")}])`,
      );
    }
  }
  const used: FoundTensor[] = [];
  for (const [name, shape] of expected) {
    const got = byName.get(name);
    if (!got) {
      problems.push(`missing ${name} (expected [${shape.join(", ")}])`);
    } else if (!sameShape(got.shape, shape)) {
      problems.push(
        `${got.fileName} has shape [${got.shape.join(", ")}], expected [${shape.join(", ")}]`,
      );
    } else if (!(FLOAT_DTYPES as readonly string[]).includes(got.dtype)) {
      problems.push(`${got.fileName} is ${got.dtype}, expected a float type`);
    } else {
      used.push(got);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${source}: cannot load ${config.name} weights (${problems.length} problem` +
        `${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`,
    );
  }
  return { used, ignored };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A freshly initialised state dict as torchvision does it: convs Kaiming-normal
 * (fan_out, ReLU), BN weight 1 / bias 0, running mean 0 / var 1. Deterministic in `seed`.
 */
export function randomResNetStateDict(config: ResNetConfig, seed: number): StateDict {
  const rng = mulberry32(seed);
  const stateDict: StateDict = new Map();
  for (const [name, shape] of resnetParameterShapes(config)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    if (shape.length === 4) {
      const std = Math.sqrt(2 / (shape[0] * shape[2] * shape[3]));
      for (let i = 0; i < count; i++) data[i] = randomNormal(rng) * std;
    } else if (name.endsWith(".weight") || name.endsWith(".running_var")) {
      data.fill(1);
    }
    stateDict.set(name, { shape, data });
  }
  return stateDict;
}

interface FrozenBlock {
  plan: BlockPlan;
  convs: FrozenConvBn[];
  downsample?: FrozenConvBn;
}

/** Options of {@linkcode FrozenResNet}. */
export interface FrozenResNetOptions {
  /** The backbone's name (defaults to `config.name`). */
  name?: string;
  /** Tensors of the source file that were skipped (reported, not used). */
  ignoredTensors?: string[];
  /** Where the weights came from, for error messages. */
  source?: string;
}

/**
 * A frozen ResNet returning layer1, layer2 and layer3 feature maps (NHWC). Batch norm is
 * folded into the convolutions with the running statistics (eval mode); weights are plain
 * tensors, never variables.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { FrozenResNet, RESNET_CONFIGS, randomResNetStateDict } from "./resnet.ts";
 * const config = RESNET_CONFIGS.resnet18;
 * const net = new FrozenResNet(config, randomResNetStateDict(config, 0));
 * const [f1, f2, f3] = net.apply(tf.zeros([1, 64, 64, 3])); // [1,16,16,64] [1,8,8,128] [1,4,4,256]
 * tf.dispose([f1, f2, f3]);
 * net.dispose();
 * ```
 */
export class FrozenResNet implements Backbone {
  readonly name: string;
  readonly config: ResNetConfig;
  readonly channels: readonly number[];
  readonly strides: readonly number[] = RESNET_STRIDES;
  /** Tensors of the weights file that were skipped (fc.*, layer4.*, num_batches_tracked). */
  readonly ignoredTensors: readonly string[];
  #stem: FrozenConvBn;
  #stages: FrozenBlock[][];
  #disposed = false;

  constructor(config: ResNetConfig, stateDict: StateDict, options: FrozenResNetOptions = {}) {
    this.config = config;
    this.name = options.name ?? config.name;
    this.channels = resnetChannels(config);
    this.ignoredTensors = options.ignoredTensors ?? [];
    for (const [name, t] of stateDict) {
      if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) {
        throw new Error(
          `${options.source ?? "state dict"}: ${name} has ${t.data.length} values but shape ` +
            `[${t.shape.join(", ")}]`,
        );
      }
    }
    const found = [...stateDict].map(([name, t]) => ({
      name,
      fileName: name,
      dtype: "F32",
      shape: t.shape,
    }));
    checkTensors(config, found, options.source ?? "state dict");
    const take = (conv: string, bn: string, stride: number, padding: number) =>
      new FrozenConvBn(convWeight(stateDict, conv), batchNorm(stateDict, bn), { stride, padding });
    this.#stem = take("conv1", "bn1", 2, Math.floor(config.stemKernel / 2));
    this.#stages = resnetBlocks(config).map((stage) =>
      stage.map((plan) => {
        const p = plan.prefix;
        const convs = plan.block === "basic"
          ? [take(`${p}.conv1`, `${p}.bn1`, plan.stride, 1), take(`${p}.conv2`, `${p}.bn2`, 1, 1)]
          : [
            take(`${p}.conv1`, `${p}.bn1`, 1, 0),
            take(`${p}.conv2`, `${p}.bn2`, plan.stride, 1),
            take(`${p}.conv3`, `${p}.bn3`, 1, 0),
          ];
        const downsample = plan.downsample
          ? take(`${p}.downsample.0`, `${p}.downsample.1`, plan.stride, 0)
          : undefined;
        return { plan, convs, downsample };
      })
    );
  }

  apply(images: tf.Tensor4D): tf.Tensor4D[] {
    if (this.#disposed) throw new Error(`${this.name}: apply() after dispose()`);
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new Error(
        `${this.name}: expected NHWC RGB images [B, H, W, 3], got [${images.shape.join(", ")}]`,
      );
    }
    // Each block's intermediates, and each block input once used, are freed as the forward
    // pass goes: WideResNet-50-2 at 256² and batch 16 otherwise holds about 2 GB at once.
    return tf.tidy(() => {
      let x = tf.tidy(() => torchMaxPool2d(this.#stem.apply(images, true), 3, 2, 1));
      const outputs: tf.Tensor4D[] = [];
      for (const stage of this.#stages) {
        for (const block of stage) {
          const input = x;
          x = tf.tidy(() => applyBlock(block, input));
          if (!outputs.includes(input)) input.dispose();
        }
        outputs.push(x);
      }
      return outputs;
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stem.dispose();
    for (const block of this.#stages.flat()) {
      for (const conv of block.convs) conv.dispose();
      block.downsample?.dispose();
    }
  }
}

function applyBlock(block: FrozenBlock, x: tf.Tensor4D): tf.Tensor4D {
  let y = x;
  block.convs.forEach((conv, i) => {
    y = conv.apply(y, i < block.convs.length - 1);
  });
  const shortcut = block.downsample ? block.downsample.apply(x, false) : x;
  return tf.relu(tf.add(y, shortcut));
}

function convWeight(stateDict: StateDict, conv: string): ConvWeight {
  const entry = need(stateDict, `${conv}.weight`);
  return { shape: entry.shape as [number, number, number, number], data: entry.data };
}

function batchNorm(stateDict: StateDict, bn: string): BatchNormParams {
  return {
    weight: need(stateDict, `${bn}.weight`).data,
    bias: need(stateDict, `${bn}.bias`).data,
    runningMean: need(stateDict, `${bn}.running_mean`).data,
    runningVar: need(stateDict, `${bn}.running_var`).data,
  };
}

function need(stateDict: StateDict, name: string): { shape: number[]; data: Float32Array } {
  const entry = stateDict.get(name);
  if (!entry) throw new Error(`state dict lacks ${name}`);
  return entry;
}
