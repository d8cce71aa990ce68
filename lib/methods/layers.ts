/**
 * Trainable layers shared by the methods: seeded variable creation, convolution with
 * PyTorch-style symmetric padding, 2x2 stride-2 transposed convolution, batch norm (training
 * and eval mode, with running statistics), instance norm and leaky ReLU. Layers are plain
 * records of `tf.Variable`s plus `apply*` functions, so a model is a tree of records and the
 * trainer differentiates with `tf.variableGrads`.
 *
 * Initial values are drawn with our own seeded generator into `Float32Array`s, never with
 * TF.js random ops, so the same seed gives the same weights on every backend.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { deriveSeed, mulberry32, randomNormal } from "../util/random.ts";
import { convTranspose2x2 } from "../backend/conv_transpose_2x2.ts";
import {
  fusedRunningStatistics,
  fusedTrainingBatchNorm,
  hasFusedTrainingBatchNorm,
  registerWasmBatchNorm,
} from "../backend/wasm_batch_norm.ts";

// Only registers kernels for the name "wasm"; loading the wasm backend stays the caller's.
registerWasmBatchNorm();

/**
 * Owns a set of variables under stable, human-readable names (used for checkpoints) and
 * derives each variable's initialisation seed from its name, so adding a layer never
 * changes the initial values of the others.
 *
 * TF.js registers variables globally by their own name; we let TF.js pick unique names
 * and keep ours in this map, so two models with the same layout can coexist.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { VariableStore } from "./layers.ts";
 * const store = new VariableStore("demo", 1);
 * store.create("w", new Float32Array([1, 2]), [2], true);
 * if (!store.named().has("demo.w")) throw new Error("named by prefix");
 * store.dispose();
 * ```
 */
export class VariableStore {
  readonly #variables = new Map<string, tf.Variable>();
  readonly #trainable: tf.Variable[] = [];

  /**
   * @param prefix Prepended (with a dot) to every name; "" for none.
   * @param seed Root seed of every initialisation drawn through {@linkcode seedFor}.
   */
  constructor(readonly prefix: string, readonly seed: number) {}

  /** The full stable name of `name`. */
  fullName(name: string): string {
    return this.prefix === "" ? name : `${this.prefix}.${name}`;
  }

  /** The initialisation seed of the variable called `name`. */
  seedFor(name: string): number {
    return deriveSeed(this.seed, this.fullName(name));
  }

  /** Creates a float32 variable holding `values` with `shape`. */
  create(name: string, values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
    const full = this.fullName(name);
    if (this.#variables.has(full)) {
      throw new Error(`lib/methods/layers.ts: variable "${full}" was created twice`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== values.length) {
      throw new Error(
        `lib/methods/layers.ts: variable "${full}" has shape [${shape}] (${size} values) ` +
          `but ${values.length} initial values`,
      );
    }
    const initial = tf.tensor(values, shape, "float32");
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.#variables.set(full, variable);
    if (trainable) this.#trainable.push(variable);
    return variable;
  }

  /** All variables by stable name, in creation order. */
  named(): Map<string, tf.Variable> {
    return new Map(this.#variables);
  }

  /** The trainable variables, in creation order. */
  trainableVariables(): tf.Variable[] {
    return [...this.#trainable];
  }

  /** Disposes every variable. */
  dispose(): void {
    for (const variable of this.#variables.values()) variable.dispose();
    this.#variables.clear();
    this.#trainable.length = 0;
  }
}

/** `count` samples of N(0, std²) from a seeded generator. */
export function seededNormal(count: number, std: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = randomNormal(rng) * std;
  return values;
}

/** `count` samples of U(-bound, bound) from a seeded generator. */
export function seededUniform(count: number, bound: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = (2 * rng() - 1) * bound;
  return values;
}

/**
 * How a convolution's weights are initialised:
 * - `"kaiming_fan_out"`: N(0, 2 / fan_out), fan_out = out·k·k — torchvision ResNet's init, which
 *   the RD code applies to every `nn.Conv2d` (no bias).
 * - `"kaiming_fan_in"`: N(0, 2 / fan_in), fan_in = in·k·k — keeps the activation variance
 *   through a ReLU; used for the transposed convolutions (each output pixel sees `in` inputs).
 * - `"torch_default"`: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias — PyTorch's
 *   default `nn.Conv2d` init.
 * - `"dcgan"`: N(0, 0.02²), bias 0 — DRAEM's `weights_init` (the DCGAN init).
 */
export type ConvInit = "kaiming_fan_out" | "kaiming_fan_in" | "torch_default" | "dcgan";

function initialWeights(
  count: number,
  fanIn: number,
  fanOut: number,
  init: ConvInit,
  seed: number,
): Float32Array {
  switch (init) {
    case "kaiming_fan_out":
      return seededNormal(count, Math.sqrt(2 / fanOut), seed);
    case "kaiming_fan_in":
      return seededNormal(count, Math.sqrt(2 / fanIn), seed);
    case "torch_default":
      return seededUniform(count, 1 / Math.sqrt(fanIn), seed);
    case "dcgan":
      return seededNormal(count, 0.02, seed);
  }
}

function assertPositiveInt(value: number, what: string, layer: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(
      `lib/methods/layers.ts: ${layer}: ${what} must be a positive integer, got ${value}`,
    );
  }
}

/** Options of {@linkcode createConv2d}. */
export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  /** Square kernel size. */
  kernelSize: number;
  /** Default 1. */
  stride?: number;
  /** Zeros added on every side, as PyTorch's `padding=p` (default 0). */
  padding?: number;
  /** Adds a bias (default false: every RD conv is followed by batch norm). */
  bias?: boolean;
  /** Default `"kaiming_fan_out"`. */
  init?: ConvInit;
}

/** A 2-D convolution: weight [k, k, in, out] (HWIO) and optional bias [out]. */
export interface Conv2d {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias?: tf.Variable<tf.Rank.R1>;
  readonly stride: number;
  readonly padding: number;
}

/**
 * Creates a seeded convolution whose variables are `<name>.weight` (and `<name>.bias`).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { applyConv2d, createConv2d, VariableStore } from "./layers.ts";
 * const store = new VariableStore("", 0);
 * const conv = createConv2d(store, "conv", { inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, padding: 1 });
 * const y = applyConv2d(conv, tf.zeros([1, 8, 8, 3]));
 * if (y.shape.join() !== "1,4,4,4") throw new Error("stride 2 halves 8 -> 4");
 * ```
 */
export function createConv2d(store: VariableStore, name: string, options: Conv2dOptions): Conv2d {
  const { inChannels, outChannels, kernelSize } = options;
  const stride = options.stride ?? 1;
  const padding = options.padding ?? 0;
  const init = options.init ?? "kaiming_fan_out";
  for (
    const [value, what] of [[inChannels, "inChannels"], [outChannels, "outChannels"], [
      kernelSize,
      "kernelSize",
    ], [stride, "stride"]] as const
  ) {
    assertPositiveInt(value, what, store.fullName(name));
  }
  if (!Number.isInteger(padding) || padding < 0) {
    throw new Error(`lib/methods/layers.ts: ${store.fullName(name)}: bad padding ${padding}`);
  }
  const fanIn = inChannels * kernelSize * kernelSize;
  const fanOut = outChannels * kernelSize * kernelSize;
  const shape = [kernelSize, kernelSize, inChannels, outChannels];
  const weight = store.create(
    `${name}.weight`,
    initialWeights(fanIn * outChannels, fanIn, fanOut, init, store.seedFor(`${name}.weight`)),
    shape,
    true,
  ) as tf.Variable<tf.Rank.R4>;
  let bias: tf.Variable<tf.Rank.R1> | undefined;
  if (options.bias) {
    const values = init === "torch_default"
      ? seededUniform(outChannels, 1 / Math.sqrt(fanIn), store.seedFor(`${name}.bias`))
      : new Float32Array(outChannels);
    bias = store.create(`${name}.bias`, values, [outChannels], true) as tf.Variable<tf.Rank.R1>;
  }
  return { weight, bias, stride, padding };
}

/**
 * Applies a convolution with PyTorch semantics: `padding` zeros on all four sides, then a
 * "valid" convolution (output size floor((n + 2p - k) / s) + 1). TF's "same" padding puts the
 * odd extra row at the bottom only, which shifts stride-2 outputs by a pixel, hence explicit.
 */
export function applyConv2d(conv: Conv2d, x: tf.Tensor4D): tf.Tensor4D {
  const inChannels = conv.weight.shape[2];
  if (x.shape[3] !== inChannels) {
    throw new Error(
      `lib/methods/layers.ts: conv expects ${inChannels} input channels, got [${x.shape}]`,
    );
  }
  const y = tf.conv2d(x, conv.weight, conv.stride, conv.padding);
  return conv.bias ? tf.add(y, conv.bias) : y;
}

/** A 2x2 stride-2 transposed convolution: weight [in, 2, 2, out], optional bias [out]. */
export interface ConvTranspose2x2 {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias?: tf.Variable<tf.Rank.R1>;
}

/**
 * Creates a seeded 2x2 stride-2 transposed convolution (`<name>.weight` [in, 2, 2, out]; a
 * PyTorch `ConvTranspose2d` weight [in, out, 2, 2] maps to it by permuting to [0, 2, 3, 1]).
 * Default init `"kaiming_fan_in"` (std sqrt(2 / in)).
 */
export function createConvTranspose2x2(
  store: VariableStore,
  name: string,
  options: { inChannels: number; outChannels: number; bias?: boolean; init?: ConvInit },
): ConvTranspose2x2 {
  const { inChannels, outChannels } = options;
  assertPositiveInt(inChannels, "inChannels", store.fullName(name));
  assertPositiveInt(outChannels, "outChannels", store.fullName(name));
  const init = options.init ?? "kaiming_fan_in";
  const weight = store.create(
    `${name}.weight`,
    initialWeights(
      inChannels * 4 * outChannels,
      inChannels,
      outChannels * 4,
      init,
      store.seedFor(`${name}.weight`),
    ),
    [inChannels, 2, 2, outChannels],
    true,
  ) as tf.Variable<tf.Rank.R4>;
  let bias: tf.Variable<tf.Rank.R1> | undefined;
  if (options.bias) {
    bias = store.create(
      `${name}.bias`,
      new Float32Array(outChannels),
      [outChannels],
      true,
    ) as tf.Variable<
      tf.Rank.R1
    >;
  }
  return { weight, bias };
}

/**
 * Applies a 2x2 stride-2 transposed convolution: [B, H, W, in] -> [B, 2H, 2W, out], with
 * y[b, 2h+i, 2w+j, o] = Σ_c x[b, h, w, c] · weight[c, i, j, o].
 *
 * The kernel does not overlap itself, so this is one matrix product followed by a
 * depth-to-space reshuffle, with direct convolution gradients that read dy in place (see
 * `lib/backend/conv_transpose_2x2.ts`): cheaper than `conv2dTranspose` on every backend.
 */
export function applyConvTranspose2x2(layer: ConvTranspose2x2, x: tf.Tensor4D): tf.Tensor4D {
  const inChannels = layer.weight.shape[0];
  if (x.shape[3] !== inChannels) {
    throw new Error(
      `lib/methods/layers.ts: transposed conv expects ${inChannels} input channels, got [${x.shape}]`,
    );
  }
  return tf.tidy(() => {
    const y = convTranspose2x2(x, layer.weight);
    return layer.bias ? tf.add(y, layer.bias) : y;
  });
}

/** Options of {@linkcode createBatchNorm}. */
export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running average (PyTorch default 0.1). */
  momentum?: number;
  /** Added to the variance (PyTorch default 1e-5). */
  epsilon?: number;
  /**
   * Standard deviation of the initial scale around 1 (default 0: all ones); DRAEM's init
   * draws N(1, 0.02²).
   */
  weightStd?: number;
}

/**
 * Batch normalisation over the channel (last) axis: trainable `weight` (gamma, init 1) and
 * `bias` (beta, init 0), and non-trainable `running_mean` / `running_var` (init 0 / 1) —
 * PyTorch's names, so checkpoints map one to one.
 */
export interface BatchNorm {
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;
  readonly momentum: number;
  readonly epsilon: number;
}

/** Creates a batch norm over `channels` channels. */
export function createBatchNorm(
  store: VariableStore,
  name: string,
  channels: number,
  options: BatchNormOptions = {},
): BatchNorm {
  assertPositiveInt(channels, "channels", store.fullName(name));
  const momentum = options.momentum ?? 0.1;
  const epsilon = options.epsilon ?? 1e-5;
  if (!(momentum >= 0 && momentum <= 1) || !(epsilon > 0)) {
    throw new Error(
      `lib/methods/layers.ts: ${store.fullName(name)}: need 0 <= momentum <= 1 and epsilon > 0, ` +
        `got ${momentum}, ${epsilon}`,
    );
  }
  const ones = new Float32Array(channels).fill(1);
  const weightStd = options.weightStd ?? 0;
  const scale = weightStd > 0
    ? seededNormal(channels, weightStd, store.seedFor(`${name}.weight`)).map((v) => 1 + v)
    : ones;
  const r1 = (v: tf.Variable) => v as tf.Variable<tf.Rank.R1>;
  return {
    weight: r1(store.create(`${name}.weight`, scale, [channels], true)),
    bias: r1(store.create(`${name}.bias`, new Float32Array(channels), [channels], true)),
    runningMean: r1(
      store.create(`${name}.running_mean`, new Float32Array(channels), [channels], false),
    ),
    runningVar: r1(store.create(`${name}.running_var`, ones.slice(), [channels], false)),
    momentum,
    epsilon,
  };
}

/**
 * Applies batch norm. Training mode normalises with the batch's biased mean and variance
 * over (B, H, W) and updates the running statistics as PyTorch does (the running variance
 * takes the unbiased batch variance); eval mode uses the running statistics.
 */
export function applyBatchNorm(bn: BatchNorm, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  const channels = bn.weight.shape[0];
  if (x.shape[3] !== channels) {
    throw new Error(
      `lib/methods/layers.ts: batch norm over ${channels} channels got input [${x.shape}]`,
    );
  }
  if (!training) {
    return tf.batchNorm4d(x, bn.runningMean, bn.runningVar, bn.bias, bn.weight, bn.epsilon);
  }
  const count = x.shape[0] * x.shape[1] * x.shape[2];
  if (count < 2) {
    throw new Error(
      `lib/methods/layers.ts: batch norm in training mode needs more than one value per channel, ` +
        `got input [${x.shape}] (use a larger batch or input size)`,
    );
  }
  return trainingBatchNorm(
    x,
    bn.weight,
    bn.bias,
    bn.epsilon,
    (mean, variance) => updateRunningStatistics(bn, mean, variance, count),
  );
}

/**
 * Training-mode batch norm over N, H, W as one differentiable op with the closed-form backward
 * pass (what autodiff of moments + normalisation computes, in a few channel reductions):
 * with x̂ = (x - mean) / sqrt(var + eps) and N values per channel,
 * dx = gamma / sqrt(var + eps) · (dy - mean(dy) - x̂ · mean(dy · x̂)),
 * dgamma = Σ dy · x̂, dbeta = Σ dy.
 * Autodiff instead tiles every per-channel factor to the full activation shape, which is
 * slow on the wasm backend. `onStats` receives the batch mean and biased variance (e.g. to
 * update running statistics; no gradient flows through them). The one batch-norm gradient of
 * the project: the methods' layers and the pretraining backbone both use it. On `wasm` the
 * forward and backward passes are one fused kernel each (`lib/backend/wasm_batch_norm.ts`,
 * same formulas, statistics blocked and merged in float64); other backends run the ops below.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { trainingBatchNorm } from "./layers.ts";
 * const y = trainingBatchNorm(tf.ones([2, 2, 2, 3]), tf.ones([3]), tf.zeros([3]), 1e-5);
 * // all zeros: every value equals its channel's mean
 * ```
 */
export function trainingBatchNorm(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  if (hasFusedTrainingBatchNorm()) return fusedTrainingBatchNorm(x, gamma, beta, epsilon, onStats);
  const count = x.shape[0] * x.shape[1] * x.shape[2];
  const forward = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    const y = tf.batchNorm4d(
      x as tf.Tensor4D,
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
      beta as tf.Tensor1D,
      gamma as tf.Tensor1D,
      epsilon,
    );
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    save([x, gamma, mean, invStd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedGamma, savedMean, savedInvStd] = saved;
        const xHat = tf.mul(tf.sub(savedX, savedMean), savedInvStd);
        const dBeta = tf.sum(dy, [0, 1, 2]);
        const dGamma = tf.sum(tf.mul(dy, xHat), [0, 1, 2]);
        const scale = tf.mul(savedGamma, savedInvStd);
        // dx = scale·dy - scale·mean(dy) - x̂·scale·mean(dy·x̂), with per-channel factors only.
        const shift = tf.mul(scale, tf.div(dBeta, count));
        const slope = tf.mul(scale, tf.div(dGamma, count));
        const dx = tf.sub(tf.sub(tf.mul(dy, scale), shift), tf.mul(xHat, slope));
        return [dx, dGamma, dBeta];
      },
    };
  };
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta) as tf.Tensor4D;
}

function updateRunningStatistics(
  bn: BatchNorm,
  mean: tf.Tensor,
  variance: tf.Tensor,
  count: number,
): void {
  if (hasFusedTrainingBatchNorm()) {
    // One kernel, bit-identical to the ops below.
    const [mean1, var1] = fusedRunningStatistics(
      bn.runningMean,
      bn.runningVar,
      mean as tf.Tensor1D,
      variance as tf.Tensor1D,
      bn.momentum,
      count,
    );
    bn.runningMean.assign(mean1);
    bn.runningVar.assign(var1);
    tf.dispose([mean1, var1]);
    return;
  }
  tf.tidy(() => {
    const m = bn.momentum;
    // Not on the path to any loss, so the gradient tape never differentiates through it.
    const unbiased = tf.mul(variance, count / (count - 1));
    bn.runningMean.assign(tf.add(tf.mul(bn.runningMean, 1 - m), tf.mul(mean, m)));
    bn.runningVar.assign(tf.add(tf.mul(bn.runningVar, 1 - m), tf.mul(unbiased, m)));
  });
}

/**
 * Instance normalisation without affine parameters (PyTorch `InstanceNorm2d` default):
 * each image's channel is normalised over its own H, W with the biased variance.
 */
export function instanceNorm(x: tf.Tensor4D, epsilon = 1e-5): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))) as tf.Tensor4D;
  });
}

/** Leaky ReLU with PyTorch's default negative slope 0.01. */
export function leakyRelu<T extends tf.Tensor>(x: T, negativeSlope = 0.01): T {
  return tf.leakyRelu(x, negativeSlope);
}
