/**
 * A trainable twin of {@linkcode FrozenResNet} with a classifier head, used only to pretrain
 * backbones (scripts/pretrain_backbone.ts). Batch norm uses batch statistics in training and
 * keeps PyTorch-style running statistics; the result is exported as a torchvision-named
 * state dict that the frozen loader reads.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { BATCH_NORM_EPS, oihwToHwio, torchMaxPool2d, torchPadding } from "./layers.ts";
import {
  type BlockPlan,
  randomResNetStateDict,
  resnetBlocks,
  resnetChannels,
  type ResNetConfig,
  resnetParameterShapes,
  type StateDict,
} from "./resnet.ts";
import { mulberry32 } from "../util/random.ts";
import { trainingBatchNorm as sharedTrainingBatchNorm } from "../methods/layers.ts";

/** PyTorch's BatchNorm momentum (weight of the new batch in the running average). */
export const BATCH_NORM_MOMENTUM = 0.1;

/** Batch statistics of one BatchNorm layer from one training forward pass. */
export interface BatchStats {
  /** The BN's name prefix, e.g. "layer1.0.bn1". */
  bn: string;
  mean: tf.Tensor1D;
  /** Biased (population) variance, as used to normalise. */
  variance: tf.Tensor1D;
  /** Elements per channel (B*H*W), for the unbiased correction of running_var. */
  count: number;
}

interface RunningStats {
  mean: tf.Variable<tf.Rank.R1>;
  variance: tf.Variable<tf.Rank.R1>;
}

/**
 * ResNet stages 1-3 + global average pooling + linear classifier, with trainable variables.
 * Conv weights are held in TF.js HWIO layout and exported as PyTorch OIHW.
 */
export class TrainableResNet {
  readonly config: ResNetConfig;
  readonly numClasses: number;
  #convs = new Map<string, { variable: tf.Variable<tf.Rank.R4>; oihw: number[] }>();
  #bnAffine = new Map<string, { gamma: tf.Variable<tf.Rank.R1>; beta: tf.Variable<tf.Rank.R1> }>();
  #running = new Map<string, RunningStats>();
  #fcWeight: tf.Variable<tf.Rank.R2>;
  #fcBias: tf.Variable<tf.Rank.R1>;
  #blocks: BlockPlan[][];

  constructor(config: ResNetConfig, numClasses: number, seed: number) {
    this.config = config;
    this.numClasses = numClasses;
    this.#blocks = resnetBlocks(config);
    const init = randomResNetStateDict(config, seed);
    for (const [name, { shape, data }] of init) {
      if (shape.length === 4) {
        const [o, i, kh, kw] = shape;
        const hwio = oihwToHwio(data, [o, i, kh, kw]);
        this.#convs.set(name.slice(0, -".weight".length), {
          variable: tf.variable(tf.tensor4d(hwio, [kh, kw, i, o]), true, name),
          oihw: shape,
        });
      }
    }
    for (const name of init.keys()) {
      if (!name.endsWith(".running_mean")) continue;
      const bn = name.slice(0, -".running_mean".length);
      const get = (field: string) => tf.tensor1d(init.get(`${bn}.${field}`)!.data);
      this.#bnAffine.set(bn, {
        gamma: tf.variable(get("weight"), true, `${bn}.weight`),
        beta: tf.variable(get("bias"), true, `${bn}.bias`),
      });
      this.#running.set(bn, {
        mean: tf.variable(get("running_mean"), false, `${bn}.running_mean`),
        variance: tf.variable(get("running_var"), false, `${bn}.running_var`),
      });
    }
    // PyTorch's nn.Linear default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    const features = resnetChannels(config)[2];
    const rng = mulberry32(seed ^ 0x5f3759df);
    const bound = 1 / Math.sqrt(features);
    const uniform = (n: number) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * bound);
    this.#fcWeight = tf.variable(
      tf.tensor2d(uniform(features * numClasses), [features, numClasses]),
      true,
      "fc.weight",
    );
    this.#fcBias = tf.variable(tf.tensor1d(uniform(numClasses)), true, "fc.bias");
  }

  /** Every trainable variable (convs, BN affine, classifier). */
  trainableVariables(): tf.Variable[] {
    return [
      ...[...this.#convs.values()].map((c) => c.variable),
      ...[...this.#bnAffine.values()].flatMap((b) => [b.gamma, b.beta]),
      this.#fcWeight,
      this.#fcBias,
    ];
  }

  /**
   * Training-mode forward pass (BN on batch statistics) -> logits [B, classes]. When `collect`
   * is given, each BN's batch statistics are pushed to it, kept out of enclosing tidies; the
   * caller disposes them (e.g. via {@linkcode updateRunningStats}).
   */
  logits(images: tf.Tensor4D, collect?: BatchStats[]): tf.Tensor2D {
    const convBn = (x: tf.Tensor4D, conv: string, bn: string, stride: number, pad: number) => {
      const { variable } = this.#convs.get(conv)!;
      const y = tf.conv2d(x, variable, stride, torchPadding(pad));
      const { gamma, beta } = this.#bnAffine.get(bn)!;
      return trainingBatchNorm(y, gamma, beta, (mean, variance) => {
        collect?.push({
          bn,
          mean: tf.keep(mean.clone()),
          variance: tf.keep(variance.clone()),
          count: y.shape[0] * y.shape[1] * y.shape[2],
        });
      });
    };
    const half = Math.floor(this.config.stemKernel / 2);
    let x = tf.relu(convBn(images, "conv1", "bn1", 2, half));
    x = torchMaxPool2d(x, 3, 2, 1);
    for (const block of this.#blocks.flat()) {
      const p = block.prefix;
      let y: tf.Tensor4D;
      if (block.block === "basic") {
        y = tf.relu(convBn(x, `${p}.conv1`, `${p}.bn1`, block.stride, 1));
        y = convBn(y, `${p}.conv2`, `${p}.bn2`, 1, 1);
      } else {
        y = tf.relu(convBn(x, `${p}.conv1`, `${p}.bn1`, 1, 0));
        y = tf.relu(convBn(y, `${p}.conv2`, `${p}.bn2`, block.stride, 1));
        y = convBn(y, `${p}.conv3`, `${p}.bn3`, 1, 0);
      }
      const shortcut = block.downsample
        ? convBn(x, `${p}.downsample.0`, `${p}.downsample.1`, block.stride, 0)
        : x;
      x = tf.relu(tf.add(y, shortcut));
    }
    const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
    return tf.add(tf.matMul(pooled, this.#fcWeight), this.#fcBias);
  }

  /**
   * PyTorch's running-statistics update: `running = (1 - m) * running + m * batch`, with the
   * unbiased batch variance. Disposes `stats`.
   */
  updateRunningStats(stats: BatchStats[], momentum = BATCH_NORM_MOMENTUM): void {
    tf.tidy(() => {
      for (const s of stats) {
        const running = this.#running.get(s.bn)!;
        const unbiased = tf.mul(s.variance, s.count / Math.max(1, s.count - 1));
        running.mean.assign(tf.add(tf.mul(running.mean, 1 - momentum), tf.mul(s.mean, momentum)));
        running.variance.assign(
          tf.add(tf.mul(running.variance, 1 - momentum), tf.mul(unbiased, momentum)),
        );
      }
    });
    tf.dispose(stats.flatMap((s) => [s.mean, s.variance]));
  }

  /**
   * Replaces the running statistics by their plain average over the given batches (each run in
   * training mode), as "precise BN" does: the final weights get statistics that belong to them
   * rather than an average that still remembers earlier weights.
   */
  recomputeRunningStats(batches: Iterable<tf.Tensor4D>): number {
    const sums = new Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>();
    let n = 0;
    for (const images of batches) {
      const stats: BatchStats[] = [];
      tf.tidy(() => {
        this.logits(images, stats);
      });
      for (const s of stats) {
        const unbiased = tf.mul(s.variance, s.count / Math.max(1, s.count - 1)) as tf.Tensor1D;
        const previous = sums.get(s.bn);
        if (previous) {
          sums.set(s.bn, {
            mean: tf.add(previous.mean, s.mean),
            variance: tf.add(previous.variance, unbiased),
          });
          tf.dispose([previous.mean, previous.variance, s.mean, s.variance, unbiased]);
        } else {
          sums.set(s.bn, { mean: s.mean, variance: unbiased });
          s.variance.dispose();
        }
      }
      n++;
    }
    if (n === 0) throw new Error("recomputeRunningStats needs at least one batch");
    for (const [bn, sum] of sums) {
      const running = this.#running.get(bn)!;
      tf.tidy(() => {
        running.mean.assign(tf.div(sum.mean, n));
        running.variance.assign(tf.div(sum.variance, n));
      });
      tf.dispose([sum.mean, sum.variance]);
    }
    return n;
  }

  /**
   * The backbone as a torchvision-named state dict (conv weights OIHW), plus the classifier
   * as `fc.weight` [classes, features] and `fc.bias`.
   */
  async toStateDict(): Promise<StateDict> {
    const stateDict: StateDict = new Map();
    for (const [conv, { variable, oihw }] of this.#convs) {
      const [o, i, kh, kw] = oihw;
      const hwio = await variable.data() as Float32Array;
      const data = new Float32Array(hwio.length);
      for (let oc = 0; oc < o; oc++) {
        for (let ic = 0; ic < i; ic++) {
          for (let y = 0; y < kh; y++) {
            for (let x = 0; x < kw; x++) {
              data[((oc * i + ic) * kh + y) * kw + x] = hwio[((y * kw + x) * i + ic) * o + oc];
            }
          }
        }
      }
      stateDict.set(`${conv}.weight`, { shape: oihw, data });
    }
    for (const [bn, { gamma, beta }] of this.#bnAffine) {
      const running = this.#running.get(bn)!;
      const c = gamma.shape[0];
      stateDict.set(`${bn}.weight`, { shape: [c], data: await gamma.data() as Float32Array });
      stateDict.set(`${bn}.bias`, { shape: [c], data: await beta.data() as Float32Array });
      stateDict.set(`${bn}.running_mean`, {
        shape: [c],
        data: await running.mean.data() as Float32Array,
      });
      stateDict.set(`${bn}.running_var`, {
        shape: [c],
        data: await running.variance.data() as Float32Array,
      });
    }
    const fcT = tf.transpose(this.#fcWeight);
    stateDict.set("fc.weight", { shape: fcT.shape, data: await fcT.data() as Float32Array });
    fcT.dispose();
    stateDict.set("fc.bias", {
      shape: [this.numClasses],
      data: await this.#fcBias.data() as Float32Array,
    });
    return sortByParameterOrder(stateDict, this.config);
  }

  dispose(): void {
    for (const { variable } of this.#convs.values()) variable.dispose();
    for (const { gamma, beta } of this.#bnAffine.values()) tf.dispose([gamma, beta]);
    for (const { mean, variance } of this.#running.values()) tf.dispose([mean, variance]);
    tf.dispose([this.#fcWeight, this.#fcBias]);
  }
}

/**
 * Training-mode batch norm with the closed-form gradient and this backbone's epsilon: the
 * methods' one implementation (`lib/methods/layers.ts`); `onStats` gets the batch mean and
 * biased variance.
 */
export function trainingBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  onStats: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  return sharedTrainingBatchNorm(x, gamma, beta, BATCH_NORM_EPS, onStats);
}

/** torchvision's order (conv1, bn1, layer1.0.conv1, ...), fc last: files read like a state_dict. */
function sortByParameterOrder(stateDict: StateDict, config: ResNetConfig): StateDict {
  const order = [...resnetParameterShapes(config).keys(), "fc.weight", "fc.bias"];
  return new Map(order.filter((name) => stateDict.has(name)).map((n) => [n, stateDict.get(n)!]));
}
