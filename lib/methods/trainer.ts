/**
 * The generic training step: one Adam optimiser per parameter group (each with its own
 * learning rate), gradients of the objective's total loss, optional global-norm clipping
 * (PyTorch's `clip_grad_norm_`), and the loss values read back as numbers.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core registers no gradient functions, and its own `dist/register_all_gradients.js` cannot
// load under Deno (extensionless ESM imports); the union package's node bundle registers them
// all into the same tfjs-core instance.
import "../backend/register_gradients.ts";
import type { Objective, ParameterGroup, TrainBatch } from "./types.ts";

/** Options of {@linkcode createTrainer}. */
export interface TrainerOptions {
  /** Adam's (beta1, beta2); default [0.5, 0.999] as RD and CCL. */
  betas?: [number, number];
  /** Clips the global gradient norm (over all groups) to this value; default no clipping. */
  clipNorm?: number;
  /** Adam's epsilon; default 1e-8 (PyTorch's, where TF.js would pick 1e-7). */
  epsilon?: number;
}

/** Trains an objective one batch at a time. */
export interface Trainer {
  /**
   * One optimisation step; resolves to every named loss of the batch (before the update). The
   * losses are read back asynchronously, once, after the update: a synchronous read-back would
   * stall the step and crashes TF.js WebGPU under Deno.
   */
  step(batch: TrainBatch): Promise<Record<string, number>>;
  /** Global gradient norm of the last step before clipping (NaN before the first step). */
  readonly lastGradNorm: number;
  /** Steps taken so far. */
  readonly steps: number;
  /** Each optimiser's state (Adam's step count and moments), in parameter-group order. */
  getOptimizerWeights(): Promise<OptimizerWeights[]>;
  /**
   * Restores what {@linkcode Trainer.getOptimizerWeights} returned (for resuming) and the step
   * count; takes ownership of the tensors.
   */
  setOptimizerWeights(weights: OptimizerWeights[], steps: number): Promise<void>;
  /** Frees the optimisers' state (not the objective's variables). */
  dispose(): void;
}

/**
 * Adam's running powers beta1^t and beta2^t. TF.js keeps them as products updated every step
 * but `setWeights` recomputes them with `pow`, which differs in the last bits; saving them
 * makes a resumed run bit-identical to an uninterrupted one.
 */
function adamPowers(optimizer: tf.Optimizer): Array<{ name: string; variable: tf.Variable }> {
  const adam = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (!adam.accBeta1 || !adam.accBeta2) return [];
  return [
    { name: "__adam_beta1_power", variable: adam.accBeta1 },
    { name: "__adam_beta2_power", variable: adam.accBeta2 },
  ];
}

/** One optimiser's state as TF.js `getWeights` lists it. */
export type OptimizerWeights = Array<{ name: string; tensor: tf.Tensor }>;

/** The global L2 norm of a list of tensors: sqrt(Σ ||g||²). */
export function globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (tensors.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(tensors.map((t) => tf.sum(tf.square(t))))) as tf.Scalar;
  });
}

/**
 * Scales `grads` by min(1, maxNorm / (norm + 1e-6)) as PyTorch's `clip_grad_norm_`, so their
 * global norm is at most `maxNorm`. Returns new tensors (the caller disposes the inputs) and
 * the norm before clipping.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { clipByGlobalNorm } from "./trainer.ts";
 * const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3, 4]) }, 1);
 * // norm = 5; grads.a = [0.6, 0.8]
 * ```
 */
export function clipByGlobalNorm(
  grads: tf.NamedTensorMap,
  maxNorm: number,
): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  if (!(maxNorm > 0)) {
    throw new Error(`lib/methods/trainer.ts: clipNorm must be > 0, got ${maxNorm}`);
  }
  const norm = globalNorm(Object.values(grads));
  const clipped = tf.tidy(() => {
    const coefficient = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const out: tf.NamedTensorMap = {};
    for (const [name, grad] of Object.entries(grads)) out[name] = tf.mul(grad, coefficient);
    return out;
  });
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

/**
 * Creates a trainer for `objective`. Parameter groups are read once, here.
 *
 * @example
 * ```ts ignore
 * import { createTrainer } from "./trainer.ts";
 * import type { Objective, TrainBatch } from "./types.ts";
 * declare const objective: Objective;
 * declare const batch: TrainBatch;
 * const trainer = createTrainer(objective, { betas: [0.5, 0.999], clipNorm: 5 });
 * const losses = await trainer.step(batch); // e.g. { rd: 0.41, total: 0.41 }
 * trainer.dispose();
 * ```
 */
export function createTrainer(objective: Objective, options: TrainerOptions = {}): Trainer {
  const [beta1, beta2] = options.betas ?? [0.5, 0.999];
  const epsilon = options.epsilon ?? 1e-8;
  const clipNorm = options.clipNorm;
  if (clipNorm !== undefined && !(clipNorm > 0)) {
    throw new Error(`lib/methods/trainer.ts: clipNorm must be > 0, got ${clipNorm}`);
  }
  const groups = objective.parameterGroups();
  validateGroups(groups, objective.name);
  const optimizers = groups.map((g) => tf.train.adam(g.learningRate, beta1, beta2, epsilon));
  const variables = groups.flatMap((g) => g.variables);
  let lastGradNorm = NaN;
  let steps = 0;

  async function step(batch: TrainBatch): Promise<Record<string, number>> {
    if (objective.needsAugmentedView && !batch.augmented) {
      throw new Error(
        `lib/methods/trainer.ts: objective "${objective.name}" needs batch.augmented, which is missing`,
      );
    }
    let names: string[] = [];
    let kept: tf.Scalar[] = [];
    const packed = tf.tidy(() => {
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
        ({ grads: applied, norm } = clipByGlobalNorm(grads, clipNorm));
      } else {
        norm = globalNorm(Object.values(grads));
      }
      groups.forEach((group, i) => {
        const own: { name: string; tensor: tf.Tensor }[] = [];
        for (const variable of group.variables) {
          const grad = applied[variable.name];
          // A variable the loss does not reach this step has no gradient and is left alone.
          if (grad) own.push({ name: variable.name, tensor: grad });
        }
        if (own.length > 0) optimizers[i].applyGradients(own);
      });
      return tf.stack([...kept, norm]);
    });
    try {
      const values = await packed.data();
      const result: Record<string, number> = {};
      names.forEach((name, i) => result[name] = values[i]);
      lastGradNorm = values[names.length];
      steps++;
      return result;
    } finally {
      packed.dispose();
      tf.dispose(kept);
    }
  }

  return {
    step,
    get lastGradNorm() {
      return lastGradNorm;
    },
    get steps() {
      return steps;
    },
    getOptimizerWeights() {
      return Promise.all(optimizers.map(async (optimizer) => [
        ...await optimizer.getWeights(),
        ...adamPowers(optimizer).map(({ name, variable }) => ({ name, tensor: variable.clone() })),
      ]));
    },
    async setOptimizerWeights(weights, restoredSteps) {
      if (weights.length !== optimizers.length) {
        throw new Error(
          `lib/methods/trainer.ts: state of ${weights.length} optimisers given, ` +
            `"${objective.name}" has ${optimizers.length} parameter groups`,
        );
      }
      for (const [i, optimizer] of optimizers.entries()) {
        const powers = adamPowers(optimizer);
        const names = new Set(powers.map(({ name }) => name));
        await optimizer.setWeights(weights[i].filter(({ name }) => !names.has(name)));
        for (const { name, variable } of powers) {
          const saved = weights[i].find((w) => w.name === name);
          if (saved) variable.assign(saved.tensor);
        }
        tf.dispose(weights[i].map(({ tensor }) => tensor));
      }
      steps = restoredSteps;
    },
    dispose() {
      for (const optimizer of optimizers) optimizer.dispose();
    },
  };
}
