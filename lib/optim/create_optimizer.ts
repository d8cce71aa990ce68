/**
 * `createOptimizer`: Adam, AdamW or SGD over a fixed list of variables, with its state in
 * our own fields (step count, beta powers, moments) so that checkpoints resume bit-exactly.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { adamUpdate } from "./adam_update.ts";
import { sgdUpdate } from "./sgd_update.ts";
import { checkLearningRate, resolveOptimizerSpec } from "./resolve_spec.ts";
import type {
  CreateOptimizerOptions,
  GradientsInput,
  Optimizer,
  OptimizerSpec,
  ResolvedOptimizerSpec,
} from "./types.ts";

const f = Math.fround;

/** Names of the scalar entries of the state. */
export const STATE_STEP = "__step";
export const STATE_BETA1_POWER = "__beta1_power";
export const STATE_BETA2_POWER = "__beta2_power";

function fail(message: string): never {
  throw new Error(`lib/optim: ${message}`);
}

/** The slots one variable carries for `kind`. */
function slotNames(spec: ResolvedOptimizerSpec): string[] {
  if (spec.kind === "sgd") return spec.momentum > 0 ? ["momentum"] : [];
  return ["m", "v"];
}

function entriesOf(grads: GradientsInput): Array<[string, tf.Tensor]> {
  if (grads instanceof Map) {
    return [...grads].map(([key, t]) => [typeof key === "string" ? key : key.name, t]);
  }
  if (Array.isArray(grads)) {
    return (grads as Array<{ name: string; tensor: tf.Tensor }>).map((g) => [g.name, g.tensor]);
  }
  return Object.entries(grads as tf.NamedTensorMap);
}

/**
 * An optimiser over `variables` (each must be trainable and appear once).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "../backend/register_gradients.ts";
 * import { createOptimizer } from "./create_optimizer.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "doc/w");
 * const optimizer = createOptimizer({ kind: "adam", learningRate: 0.1, beta1: 0.5 }, [w]);
 * const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)), [w]);
 * optimizer.applyGradients(grads); // Adam's first step: each weight moves by 0.1
 * tf.dispose(grads);
 * const state = optimizer.getState(); // doc/w/m, doc/w/v, __step, __beta1_power, ...
 * const copy = createOptimizer(optimizer.spec, [w]);
 * copy.setState(state); // resumes exactly where `optimizer` is
 * tf.dispose(state);
 * optimizer.dispose();
 * copy.dispose();
 * w.dispose();
 * ```
 */
export function createOptimizer(
  spec: OptimizerSpec,
  variables: readonly tf.Variable[],
  options: CreateOptimizerOptions = {},
): Optimizer {
  const resolved = resolveOptimizerSpec(spec);
  const fused = options.fused ?? true;
  const byName = new Map<string, tf.Variable>();
  for (const variable of variables) {
    if (byName.has(variable.name)) fail(`variable ${variable.name} is listed twice`);
    if (!variable.trainable) fail(`variable ${variable.name} is not trainable`);
    if (variable.dtype !== "float32") fail(`variable ${variable.name} is ${variable.dtype}`);
    byName.set(variable.name, variable);
  }
  const slots = slotNames(resolved);
  /** Per variable, per slot name: the state tensor (created on the first gradient). */
  const state = new Map<string, Map<string, tf.Tensor>>();
  let steps = 0;
  // beta^t for the coming step, as float32 products exactly as TF.js's accBeta1/accBeta2.
  let beta1Power = f(resolved.beta1);
  let beta2Power = f(resolved.beta2);

  function slotsOf(name: string, like: tf.Variable): Map<string, tf.Tensor> {
    let own = state.get(name);
    if (own === undefined) {
      own = new Map();
      if (resolved.kind !== "sgd") {
        for (const slot of slots) own.set(slot, tf.zerosLike(like));
      }
      state.set(name, own);
    }
    return own;
  }

  function applyOne(variable: tf.Variable, grad: tf.Tensor): void {
    if (!sameShape(grad.shape, variable.shape)) {
      fail(`gradient of ${variable.name} is [${grad.shape}], the variable is [${variable.shape}]`);
    }
    const own = slotsOf(variable.name, variable);
    if (resolved.kind === "sgd") {
      const out = sgdUpdate(variable, own.get("momentum"), grad, resolved);
      variable.assign(out.x);
      out.x.dispose();
      if (out.buffer) replace(own, "momentum", out.buffer);
      return;
    }
    const out = adamUpdate(variable, own.get("m")!, own.get("v")!, grad, {
      learningRate: resolved.learningRate,
      beta1: resolved.beta1,
      beta2: resolved.beta2,
      epsilon: resolved.epsilon,
      oneMinusBeta1Power: f(1 - beta1Power),
      oneMinusBeta2Power: f(1 - beta2Power),
      weightDecay: resolved.weightDecay,
      decoupled: resolved.kind === "adamw",
    }, fused);
    variable.assign(out.x);
    out.x.dispose();
    replace(own, "m", out.m);
    replace(own, "v", out.v);
  }

  const optimizer: Optimizer = {
    get spec() {
      return { ...resolved };
    },
    get steps() {
      return steps;
    },
    applyGradients(grads) {
      const entries = entriesOf(grads);
      for (const [name, grad] of entries) {
        const variable = byName.get(name);
        if (variable === undefined) fail(`gradient for ${name}, which this optimiser does not own`);
        applyOne(variable, grad);
      }
      steps++;
      beta1Power = f(beta1Power * f(resolved.beta1));
      beta2Power = f(beta2Power * f(resolved.beta2));
    },
    setLearningRate(learningRate) {
      checkLearningRate(learningRate);
      resolved.learningRate = learningRate;
    },
    getState() {
      const out: tf.NamedTensorMap = {};
      for (const [name, own] of state) {
        for (const [slot, t] of own) out[`${name}/${slot}`] = t.clone();
      }
      out[STATE_STEP] = tf.scalar(steps);
      out[STATE_BETA1_POWER] = tf.scalar(beta1Power);
      out[STATE_BETA2_POWER] = tf.scalar(beta2Power);
      return out;
    },
    setState(saved) {
      const restored = readState(saved, byName, slots);
      disposeState(state);
      for (const [name, own] of restored.slots) state.set(name, own);
      steps = restored.steps;
      beta1Power = restored.beta1Power;
      beta2Power = restored.beta2Power;
    },
    dispose() {
      disposeState(state);
    },
  };
  return optimizer;
}

function replace(own: Map<string, tf.Tensor>, slot: string, value: tf.Tensor): void {
  own.get(slot)?.dispose();
  own.set(slot, value);
}

function disposeState(state: Map<string, Map<string, tf.Tensor>>): void {
  for (const own of state.values()) tf.dispose([...own.values()]);
  state.clear();
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function scalarValue(saved: tf.NamedTensorMap, key: string): number {
  const t = saved[key];
  if (t === undefined) fail(`state has no ${key}`);
  if (t.size !== 1) fail(`state ${key} has shape [${t.shape}], expected a scalar`);
  return t.dataSync()[0];
}

/** Validates a saved state against the variables and copies its tensors. */
function readState(
  saved: tf.NamedTensorMap,
  byName: Map<string, tf.Variable>,
  slots: string[],
) {
  const steps = scalarValue(saved, STATE_STEP);
  if (!Number.isInteger(steps) || steps < 0) fail(`state ${STATE_STEP} is ${steps}`);
  const beta1Power = f(scalarValue(saved, STATE_BETA1_POWER));
  const beta2Power = f(scalarValue(saved, STATE_BETA2_POWER));
  const found = new Map<string, Map<string, tf.Tensor>>();
  for (const [key, t] of Object.entries(saved)) {
    if (key.startsWith("__")) continue;
    const cut = key.lastIndexOf("/");
    const name = key.slice(0, cut), slot = key.slice(cut + 1);
    const variable = byName.get(name);
    if (cut < 0 || variable === undefined || !slots.includes(slot)) {
      fail(`state entry ${key} matches no variable slot of this optimiser`);
    }
    if (!sameShape(t.shape, variable.shape)) {
      fail(`state ${key} is [${t.shape}], the variable is [${variable.shape}]`);
    }
    if (!found.has(name)) found.set(name, new Map());
    found.get(name)!.set(slot, t);
  }
  for (const [name, own] of found) {
    // Adam's moments come in pairs; SGD's single buffer cannot be half present.
    if (own.size !== slots.length) {
      fail(`state of ${name} has ${[...own.keys()]}, expected ${slots}`);
    }
  }
  // Copied only once everything is valid, so that a bad state leaks nothing.
  for (const own of found.values()) {
    for (const [slot, t] of own) own.set(slot, tf.cast(t, "float32"));
  }
  return { steps, beta1Power, beta2Power, slots: found };
}
