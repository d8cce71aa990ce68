/**
 * Recomputation ("gradient checkpointing") of a sub-network in the backward pass: the forward
 * pass keeps only the sub-network's input on the gradient tape; the backward pass runs the
 * sub-network again under its own tape and backpropagates through it. Memory of a training
 * step drops from every intermediate activation of the sub-network to its input, at the cost
 * of one more forward pass of it. The numbers are the same: the second forward pass sees the
 * same input and weights, so it computes the same values, and the backward pass runs the same
 * gradient kernels on them.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Where memory-saving paths start: in training, a sub-network (or loss) whose input has at least
 * this many elements is recomputed in the backward pass, and CCL's local loss is computed in row
 * chunks. WideResNet-50-2 RD at 256² keeps about 400 MB of activations per batch-16 decoder
 * block at H/4, six such blocks, in wasm's 4 GiB heap; small models (the demo's) stay below the
 * threshold, so they pay no extra forward pass and their numbers do not move.
 */
export const RECOMPUTE_MIN_ELEMENTS = 2 ** 21;

/** Inputs of {@linkcode recomputeInBackward} besides the input tensor. */
export interface RecomputeParts {
  /** The sub-network: a pure function of its input and the variables below. */
  apply: (x: tf.Tensor4D) => tf.Tensor4D;
  /** Every trainable variable `apply` reads (they receive gradients). */
  trainable: readonly tf.Variable[];
  /**
   * Non-trainable variables `apply` updates as a side effect (batch norm's running
   * statistics): the recomputation puts them back, so they are updated once per step.
   */
  state?: readonly tf.Variable[];
}

/**
 * `parts.apply(x)`, recomputed in the backward pass instead of keeping its intermediate
 * tensors on the tape. Without an active gradient tape it is just `parts.apply(x)`.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "../../backend/register_gradients.ts";
 * import { recomputeInBackward } from "./recompute.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([2]));
 * const f = (x: tf.Tensor4D) => tf.relu(tf.mul(x, w)) as tf.Tensor4D;
 * const x = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
 * const { grads } = tf.variableGrads(
 *   () => tf.sum(recomputeInBackward(x, { apply: f, trainable: [w] })) as tf.Scalar,
 *   [w],
 * );
 * // d/dw relu(w·1) = 1 at w = 2, as without recomputation
 * if (grads[w.name].dataSync()[0] !== 1) throw new Error();
 * tf.dispose([w, x, grads[w.name]]);
 * ```
 */
export function recomputeInBackward(x: tf.Tensor4D, parts: RecomputeParts): tf.Tensor4D {
  const { apply, trainable } = parts;
  const state = parts.state ?? [];
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = inputs[0] as tf.Tensor4D;
    const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
    save([input]);
    return {
      value: apply(input),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        recomputedGradients(parts, state, saved[0] as tf.Tensor4D, dy as tf.Tensor),
    };
  });
  return op(x, ...trainable) as tf.Tensor4D;
}

/** d(apply)/d[x, ...trainable] at `x` against `dy`, by a second forward pass under a tape. */
function recomputedGradients(
  parts: RecomputeParts,
  state: readonly tf.Variable[],
  x: tf.Tensor4D,
  dy: tf.Tensor,
): tf.Tensor[] {
  const statesBefore = state.map((v) => tf.clone(v));
  try {
    return withOwnTape(() => {
      const { value, grads } = tf.engine().gradients(
        () => parts.apply(x),
        [x, ...parts.trainable],
        dy,
        true,
      );
      value.dispose();
      return grads.map((g, i) => g ?? tf.zerosLike(i === 0 ? x : parts.trainable[i - 1]));
    });
  } finally {
    state.forEach((v, i) => v.assign(statesBefore[i]));
    tf.dispose(statesBefore);
  }
}

/**
 * `f(...inputs)` for a function of tensors alone (no variables), recomputed in the backward
 * pass instead of keeping its intermediate tensors on the tape: a loss term over large
 * feature maps keeps only its inputs. Same numbers (see the module note).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "../../backend/register_gradients.ts";
 * import { recomputeFunction } from "./recompute.ts";
 * await tf.setBackend("cpu");
 * const a = tf.tensor1d([3]);
 * const grad = tf.grad((x: tf.Tensor) =>
 *   recomputeFunction((y) => tf.sum(tf.square(y)), [x])
 * )(a);
 * if (grad.dataSync()[0] !== 6) throw new Error();
 * tf.dispose([a, grad]);
 * ```
 */
export function recomputeFunction<T extends tf.Tensor>(
  f: (...inputs: tf.Tensor[]) => T,
  inputs: readonly tf.Tensor[],
): T {
  const count = inputs.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const tensors = args.slice(0, count) as tf.Tensor[];
    const save = args[count] as tf.GradSaveFunc;
    save(tensors);
    return {
      value: f(...tensors),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        withOwnTape(() => {
          const { value, grads } = tf.engine().gradients(
            () => f(...saved),
            saved,
            dy as tf.Tensor,
            true,
          );
          value.dispose();
          return grads.map((g, i) => g ?? tf.zerosLike(saved[i]));
        }),
    };
  });
  return op(...inputs) as T;
}

/**
 * Runs `compute` (which takes gradients) during an outer backward pass. The outer pass runs
 * with its tape still referenced by the engine; a gradient computed now would replace it (and
 * the outer pass would then fail to free it), so the outer tape is set aside while the inner
 * one runs, then put back.
 */
function withOwnTape<R>(compute: () => R): R {
  const engine = tf.engine();
  const outerTape = engine.state.activeTape;
  const nested = engine.state.gradientDepth > 0;
  if (!nested) engine.state.activeTape = null as unknown as typeof outerTape;
  try {
    return compute();
  } finally {
    if (!nested) engine.state.activeTape = outerTape;
  }
}
