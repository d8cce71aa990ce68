/**
 * The generic training step: one optimiser per parameter group as the group describes it
 * (`lib/optim`: Adam, AdamW, SGD with momentum; learning-rate schedule; clipping), training
 * phases that update only some groups, gradients of the objective's total loss, optional
 * global-norm clipping (PyTorch's `clip_grad_norm_`), and the loss values read back as numbers.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core registers no gradient functions, and its own `dist/register_all_gradients.js` cannot
// load under Deno (extensionless ESM imports); the union package's node bundle registers them
// all into the same tfjs-core instance.
import "../backend/register_gradients.ts";
import { addN } from "../backend/add_n.ts";
import { throwIfWebGpuErrors, watchWebGpuErrors } from "../backend/webgpu_errors.ts";
import { createOptimizer } from "../optim/create_optimizer.ts";
import type { Optimizer, OptimizerSpec } from "../optim/types.ts";
import { withFreeBackward } from "./components/free_backward.ts";
import type {
  GroupOptimizer,
  Objective,
  ParameterGroup,
  TrainBatch,
  TrainingPhase,
} from "./types.ts";

/** Options of {@linkcode createTrainer}. */
export interface TrainerOptions {
  /** Clips the global gradient norm (over all updated groups) to this value; default none. */
  clipNorm?: number;
  /**
   * Steps of the whole training: needed by phases and learning-rate schedules, which are
   * fractions of it. Default: unknown (then a single phase and constant learning rates).
   */
  totalSteps?: number;
  /** The training phases; default `objective.phases?.()`, else one phase over every group. */
  phases?: readonly TrainingPhase[];
  /**
   * Frees each gradient-tape node's saved tensors and output gradients as soon as the backward
   * pass is past it (`installFreeBackward`), not at its end: the same numbers with a lower
   * peak. Default true; false leaves TF.js's engine untouched.
   */
  freeBackward?: boolean;
}

/** Trains an objective one batch at a time. */
export interface Trainer {
  /**
   * One optimisation step; resolves to every named loss of the batch (before the update). The
   * losses are read back asynchronously, once, after the update: a synchronous read-back would
   * stall the step and crashes TF.js WebGPU under Deno. On WebGPU, throws when the device
   * reported an error meanwhile (a kernel that did not run leaves wrong numbers, silently).
   */
  step(batch: TrainBatch): Promise<Record<string, number>>;
  /** The name of the phase step `step` belongs to (`"train"` without phases). */
  phaseAt(step: number): string;
  /** Global gradient norm of the last step before clipping (NaN before the first step). */
  readonly lastGradNorm: number;
  /** Steps taken so far. */
  readonly steps: number;
  /**
   * Each optimiser's full state, in parameter-group order, keyed by the variables' stable
   * names (`objective.namedVariables()`), so a checkpoint restores in another process.
   */
  getOptimizerWeights(): Promise<OptimizerWeights[]>;
  /**
   * Restores what {@linkcode Trainer.getOptimizerWeights} returned (for resuming) and the step
   * count; takes ownership of the tensors.
   */
  setOptimizerWeights(weights: OptimizerWeights[], steps: number): Promise<void>;
  /** Frees the optimisers' state (not the objective's variables). */
  dispose(): void;
}

/** The optimiser of a group that names none: RD's and CCL's Adam (0.5, 0.999), epsilon 1e-8. */
export const DEFAULT_GROUP_OPTIMIZER: Readonly<GroupOptimizer> = Object.freeze({
  kind: "adam",
  beta1: 0.5,
  beta2: 0.999,
  epsilon: 1e-8,
});

/** The optimiser spec of `group` (its optimiser, or the default, at its learning rate). */
export function groupOptimizerSpec(group: ParameterGroup): OptimizerSpec {
  return { ...(group.optimizer ?? DEFAULT_GROUP_OPTIMIZER), learningRate: group.learningRate };
}

/**
 * The learning rate of `group` at `step` of `totalSteps` under its schedule.
 *
 * @example
 * ```ts
 * import { scheduledLearningRate } from "./trainer.ts";
 * const group = {
 *   name: "g",
 *   variables: [],
 *   learningRate: 1,
 *   schedule: { kind: "multistep" as const, milestones: [0.5], gamma: 0.1 },
 * };
 * if (scheduledLearningRate(group, 60, 100) !== 0.1) throw new Error();
 * const cosine = { ...group, schedule: { kind: "cosine" as const } };
 * if (Math.abs(scheduledLearningRate(cosine, 50, 100) - 0.5) > 1e-12) throw new Error();
 * ```
 */
export function scheduledLearningRate(
  group: ParameterGroup,
  step: number,
  totalSteps: number | undefined,
): number {
  const schedule = group.schedule ?? { kind: "constant" };
  if (schedule.kind === "constant" || totalSteps === undefined) return group.learningRate;
  if (schedule.kind === "cosine") {
    const floor = schedule.minFactor ?? 0;
    const progress = Math.min(step / Math.max(totalSteps, 1), 1);
    return group.learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
  }
  const passed = schedule.milestones.filter((m) => step >= Math.round(m * totalSteps)).length;
  return group.learningRate * schedule.gamma ** passed;
}

/**
 * The index of the phase `step` of `totalSteps` falls in: phase i covers the i-th share of the
 * steps.
 */
export function phaseIndexAt(
  phases: readonly TrainingPhase[],
  step: number,
  totalSteps: number | undefined,
): number {
  if (phases.length <= 1 || totalSteps === undefined) return 0;
  let end = 0;
  for (const [i, phase] of phases.entries()) {
    end += phase.fraction;
    if (step < Math.round(end * totalSteps)) return i;
  }
  return phases.length - 1;
}

/** One optimiser's state as TF.js `getWeights` lists it. */
export type OptimizerWeights = Array<{ name: string; tensor: tf.Tensor }>;

/** The global L2 norm of a list of tensors: sqrt(Σ ||g||²). */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(0);
    // Not `tf.addN`: models have more variables than TF.js WebGPU's AddN can bind (add_n.ts).
    // Each square is freed once summed: no squared copy of every gradient at once (memory).
    return tf.sqrt(addN(tensors.map((t) => tf.tidy(() => tf.sum(tf.square(t)))))) as tf.Scalar;
  });
}

/**
 * Scales `grads` by min(1, maxNorm / (norm + 1e-6)) as PyTorch's `clip_grad_norm_`, so their
 * global norm is at most `maxNorm`. Returns new tensors (the caller disposes the inputs) and
 * the norm before clipping.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { clipByGlobalNorm } from "./trainer.ts";
 * await tf.setBackend("cpu");
 * const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3, 4]) }, 1);
 * // norm = 5; grads.a = [0.6, 0.8]
 * ```
 */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return clipGradients(grads, maxNorm, false);
}

/**
 * {@linkcode clipByGlobalNorm} that frees each raw gradient as soon as its clipped copy exists,
 * so raw and clipped copies of all gradients (hundreds of MB at WideResNet size) never coexist.
 * Same numbers; the inputs are consumed.
 */
function clipInPlace(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return clipGradients(grads, maxNorm, true);
}

function clipGradients(
  grads: tf.NamedTensorMap,
  maxNorm: number,
  consume: boolean,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  if (!(maxNorm > 0)) {
    throw new Error(`lib/methods/trainer.ts: clipNorm must be > 0, got ${maxNorm}`);
  }
  const norm = globalNorm(Object.values(grads));
  const coefficient = tf.tidy(() => tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1));
  const clipped: tf.NamedTensorMap = {};
  for (const [name, grad] of Object.entries(grads)) {
    clipped[name] = tf.mul(grad, coefficient);
    if (consume) grad.dispose();
  }
  coefficient.dispose();
  return { grads: clipped, norm };
}

function validateGroups(groups: readonly ParameterGroup[], objective: string): void {
  if (groups.length === 0) {
    throw new Error(`lib/methods/trainer.ts: objective "${objective}" has no parameter groups`);
  }
  const names = new Set<string>();
  const seen = new Set<tf.Variable>();
  for (const group of groups) {
    if (names.has(group.name)) {
      throw new Error(`lib/methods/trainer.ts: parameter group "${group.name}" appears twice`);
    }
    names.add(group.name);
    if (!(group.learningRate > 0) || !Number.isFinite(group.learningRate)) {
      throw new Error(
        `lib/methods/trainer.ts: group "${group.name}" has learning rate ${group.learningRate}`,
      );
    }
    if (group.variables.length === 0) {
      throw new Error(`lib/methods/trainer.ts: parameter group "${group.name}" has no variables`);
    }
    for (const variable of group.variables) {
      if (seen.has(variable)) {
        throw new Error(
          `lib/methods/trainer.ts: variable ${variable.name} is in more than one group ` +
            `(second: "${group.name}")`,
        );
      }
      if (!variable.trainable) {
        throw new Error(
          `lib/methods/trainer.ts: group "${group.name}" holds non-trainable variable ${variable.name}`,
        );
      }
      seen.add(variable);
    }
  }
}

/** One phase over every group, for objectives without phases. */
const SINGLE_PHASE = "train";

function validatePhases(
  phases: readonly TrainingPhase[],
  groups: readonly ParameterGroup[],
  objective: string,
): void {
  const names = new Set(groups.map((g) => g.name));
  let sum = 0;
  for (const phase of phases) {
    for (const group of phase.groups) {
      if (!names.has(group)) {
        throw new Error(
          `lib/methods/trainer.ts: phase "${phase.name}" of "${objective}" names unknown group ` +
            `"${group}" (groups: ${[...names].join(", ")})`,
        );
      }
    }
    if (!(phase.fraction > 0)) {
      throw new Error(`lib/methods/trainer.ts: phase "${phase.name}" has share ${phase.fraction}`);
    }
    sum += phase.fraction;
  }
  if (phases.length > 0 && Math.abs(sum - 1) > 1e-9) {
    throw new Error(`lib/methods/trainer.ts: the phases of "${objective}" add up to ${sum}, not 1`);
  }
}

/**
 * Creates a trainer for `objective`. Parameter groups and phases are read once, here.
 *
 * @example
 * ```ts ignore
 * import { createTrainer } from "./trainer.ts";
 * import type { Objective, TrainBatch } from "./types.ts";
 * declare const objective: Objective;
 * declare const batch: TrainBatch;
 * const trainer = createTrainer(objective, { clipNorm: 5, totalSteps: 100 });
 * const losses = await trainer.step(batch); // e.g. { method: 0.41, total: 0.41 }
 * trainer.dispose();
 * ```
 */
export function createTrainer(objective: Objective, options: TrainerOptions = {}): Trainer {
  const clipNorm = options.clipNorm;
  if (clipNorm !== undefined && !(clipNorm > 0)) {
    throw new Error(`lib/methods/trainer.ts: clipNorm must be > 0, got ${clipNorm}`);
  }
  const totalSteps = options.totalSteps;
  const freeBackward = options.freeBackward ?? true;
  const groups = objective.parameterGroups();
  validateGroups(groups, objective.name);
  const phases = [...(options.phases ?? objective.phases?.() ?? [])];
  validatePhases(phases, groups, objective.name);
  const optimizers: Optimizer[] = groups.map((g) =>
    createOptimizer(groupOptimizerSpec(g), g.variables)
  );
  // Per phase, the indices of the groups it updates (groups no phase names: every phase).
  const phased = new Set(phases.flatMap((p) => p.groups));
  const activeGroups = (phases.length ? phases : [{ name: SINGLE_PHASE, groups: [], fraction: 1 }])
    .map((phase) =>
      groups.flatMap((g, i) => (phase.groups.includes(g.name) || !phased.has(g.name) ? [i] : []))
    );
  let lastGradNorm = NaN;
  let steps = 0;
  // On WebGPU a failed kernel only raises a device event; the step checks for them.
  watchWebGpuErrors();

  // Stable names (checkpoints) <-> TF.js's process-global variable names.
  const stableName = new Map<string, string>();
  for (const [name, variable] of objective.namedVariables()) stableName.set(variable.name, name);
  const engineName = new Map([...stableName].map(([engine, stable]) => [stable, engine]));
  const renameKey = (key: string, names: Map<string, string>) => {
    const cut = key.lastIndexOf("/");
    if (cut < 0 || key.startsWith("__")) return key;
    const mapped = names.get(key.slice(0, cut));
    if (mapped === undefined) {
      throw new Error(`lib/methods/trainer.ts: optimiser state ${key} names no known variable`);
    }
    return mapped + key.slice(cut);
  };

  async function step(batch: TrainBatch): Promise<Record<string, number>> {
    if (objective.needsAugmentedView && !batch.augmented) {
      throw new Error(
        `lib/methods/trainer.ts: objective "${objective.name}" needs batch.augmented, which is missing`,
      );
    }
    const active = activeGroups[phaseIndexAt(phases, steps, totalSteps)];
    const variables = active.flatMap((i) => groups[i].variables);
    for (const i of active) {
      const rate = scheduledLearningRate(groups[i], steps, totalSteps);
      if (rate !== optimizers[i].spec.learningRate) optimizers[i].setLearningRate(rate);
    }
    let names: string[] = [];
    let kept: tf.Scalar[] = [];
    // Gradients to apply per active group; they leave the tidy, because the optimisers create
    // their state on the first update, which must outlive any scope.
    const updates: Array<{ index: number; grads: tf.NamedTensorMap }> = [];
    let packed: tf.Tensor1D;
    try {
      packed = freeBackward
        ? withFreeBackward(() => tf.tidy(() => packStep()))
        : tf.tidy(() => packStep());
    } catch (error) {
      tf.dispose([...kept, ...updates.flatMap(({ grads }) => Object.values(grads))]);
      throw error;
    }
    tf.dispose(kept);
    try {
      for (const { index, grads } of updates) optimizers[index].applyGradients(grads);
    } finally {
      tf.dispose(updates.flatMap(({ grads }) => Object.values(grads)));
    }
    let values: Float32Array;
    try {
      values = await packed.data() as Float32Array;
    } finally {
      packed.dispose();
    }
    throwIfWebGpuErrors(`lib/methods/trainer.ts: step ${steps} of "${objective.name}"`);
    const result: Record<string, number> = {};
    names.forEach((name, i) => result[name] = values[i]);
    lastGradNorm = values[names.length];
    steps++;
    return result;

    /**
     * Gradients of the total into `updates` (clipped as asked) and every named loss and the
     * gradient norm stacked in one tensor: one read-back per step.
     */
    function packStep(): tf.Tensor1D {
      const { grads } = tf.variableGrads(() => {
        const losses = objective.losses(batch);
        names = Object.keys(losses);
        kept = names.map((name) => {
          const loss = losses[name];
          if (loss.rank !== 0) {
            throw new Error(
              `lib/methods/trainer.ts: loss "${name}" of "${objective.name}" is not a scalar ` +
                `(shape [${loss.shape}])`,
            );
          }
          return tf.keep(loss);
        });
        return losses.total;
      }, variables);
      let norm: tf.Scalar;
      let applied = grads;
      if (clipNorm !== undefined) {
        ({ grads: applied, norm } = clipInPlace(grads, clipNorm));
      } else {
        norm = globalNorm(Object.values(grads));
      }
      for (const i of active) {
        const group = groups[i];
        let own: tf.NamedTensorMap = {};
        for (const variable of group.variables) {
          const grad = applied[variable.name];
          // A variable the loss does not reach this step has no gradient and is left alone.
          if (grad) own[variable.name] = grad;
        }
        if (Object.keys(own).length === 0) continue;
        if (group.clipNorm !== undefined) own = clipByGlobalNorm(own, group.clipNorm).grads;
        for (const grad of Object.values(own)) tf.keep(grad);
        updates.push({ index: i, grads: own });
      }
      return tf.stack([...kept, norm]) as tf.Tensor1D;
    }
  }

  return {
    step,
    phaseAt(at: number) {
      return phases.length ? phases[phaseIndexAt(phases, at, totalSteps)].name : SINGLE_PHASE;
    },
    get lastGradNorm() {
      return lastGradNorm;
    },
    get steps() {
      return steps;
    },
    getOptimizerWeights() {
      return Promise.resolve(
        optimizers.map((optimizer) =>
          Object.entries(optimizer.getState()).map(([key, tensor]) => ({
            name: renameKey(key, stableName),
            tensor,
          }))
        ),
      );
    },
    setOptimizerWeights(weights, restoredSteps) {
      if (weights.length !== optimizers.length) {
        throw new Error(
          `lib/methods/trainer.ts: state of ${weights.length} optimisers given, ` +
            `"${objective.name}" has ${optimizers.length} parameter groups`,
        );
      }
      try {
        for (const [i, optimizer] of optimizers.entries()) {
          const state: tf.NamedTensorMap = {};
          for (const { name, tensor } of weights[i]) state[renameKey(name, engineName)] = tensor;
          optimizer.setState(state);
        }
      } finally {
        tf.dispose(weights.flat().map(({ tensor }) => tensor));
      }
      steps = restoredSteps;
      return Promise.resolve();
    },
    dispose() {
      for (const optimizer of optimizers) optimizer.dispose();
    },
  };
}
