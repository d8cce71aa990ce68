/**
 * The optimiser specification and the interface every optimiser of `lib/optim` implements.
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** Which update rule. */
export type OptimizerKind = "adam" | "adamw" | "sgd";

/**
 * What an optimiser is, as plain JSON (it goes into configs and results).
 *
 * Defaults follow PyTorch: `beta1` 0.9, `beta2` 0.999, `epsilon` 1e-8, `weightDecay` 0 for
 * `adam` and `sgd` and 0.01 for `adamw`, `momentum` 0, `nesterov` false.
 */
export interface OptimizerSpec {
  kind: OptimizerKind;
  learningRate: number;
  /** Adam's first-moment decay. */
  beta1?: number;
  /** Adam's second-moment decay. */
  beta2?: number;
  /** Adam's denominator term (TF.js's order: m̂ / (sqrt(v̂) + epsilon)). */
  epsilon?: number;
  /**
   * `adam` and `sgd`: L2 penalty added to the gradient (g += wd · x, PyTorch's
   * `weight_decay`); `adamw`: decoupled decay (x *= 1 - lr · wd before the step).
   */
  weightDecay?: number;
  /** SGD momentum (PyTorch's: buf = momentum · buf + g, no dampening). */
  momentum?: number;
  /** SGD Nesterov momentum (needs momentum > 0). */
  nesterov?: boolean;
}

/** A spec with every default filled in. */
export type ResolvedOptimizerSpec = Required<OptimizerSpec>;

/**
 * Gradients keyed by variable or variable name: a `Map`, a `NamedTensorMap` (what
 * `tf.variableGrads` returns) or TF.js's `{name, tensor}` list.
 */
export type GradientsInput =
  | Map<string | tf.Variable, tf.Tensor>
  | tf.NamedTensorMap
  | ReadonlyArray<{ name: string; tensor: tf.Tensor }>;

/** An optimiser over a fixed set of variables. */
export interface Optimizer {
  /** The resolved spec (learning rate as currently set). */
  readonly spec: ResolvedOptimizerSpec;
  /** Updates taken so far (one per {@linkcode Optimizer.applyGradients} call). */
  readonly steps: number;
  /**
   * One update. Variables without a gradient in `grads` are left alone (the step count still
   * advances, as in TF.js and PyTorch). The gradients stay the caller's.
   */
  applyGradients(grads: GradientsInput): void;
  /** Changes the learning rate from the next step on (schedules). */
  setLearningRate(learningRate: number): void;
  /**
   * The full state as new float32 tensors the caller owns: per variable `<name>/m` and
   * `<name>/v` (Adam, AdamW) or `<name>/momentum` (SGD with momentum), and `__step`,
   * `__beta1_power`, `__beta2_power` (Adam's running beta^t, kept so that a resumed run is
   * bit-identical to an uninterrupted one).
   */
  getState(): tf.NamedTensorMap;
  /** Restores {@linkcode Optimizer.getState}'s output (copied; the caller keeps ownership). */
  setState(state: tf.NamedTensorMap): void;
  /** Frees the state (never the variables). */
  dispose(): void;
}

/** Options of `createOptimizer`. */
export interface CreateOptimizerOptions {
  /**
   * Whether Adam uses the fused kernel where one is registered (`wasm`); default true. False
   * forces the composite of element-wise ops (same numbers; the tests compare the two).
   */
  fused?: boolean;
}
