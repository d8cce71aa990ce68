/**
 * Frees memory during TF.js's backward pass instead of at its end. TF.js 4.22 keeps, until a
 * whole `gradients` call returns, every tape node's saved tensors (the forward pass's tape) and
 * the gradient of every intermediate tensor: the backward pass's peak is about the forward tape
 * plus the sum of all intermediate gradients. Once a node's gradient functions have run, its
 * outputs' gradients and its saved tensors are never read again (the tape is walked in reverse
 * order and each tensor has one producing node), so this frees them when the next node starts.
 * The numbers are unchanged: the same gradient functions run on the same tensors, in the same
 * order; only the time of disposal moves.
 *
 * Not freed: a gradient passed in by the caller (`dy` of `tf.grad(f)(x, dy)`), a tensor that a
 * gradient function returned as an input's gradient (it lives on in the accumulated gradients),
 * and anything during higher-order gradients (the saved tensors are needed again there).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** The parts of TF.js's engine this module wraps (not in its public types). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  addTapeNode: (...args: unknown[]) => void;
  gradients: (...args: unknown[]) => unknown;
}

interface TapeNode {
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** What the node whose gradient ran last leaves to free. */
interface Pending {
  tensors: tf.Tensor[];
  returned: Set<tf.Tensor>;
}

let installed: (() => void) | undefined;

/**
 * Makes every later backward pass free each node's output gradients and saved tensors as soon
 * as they are no longer needed. Returns a function that restores the engine (idempotent);
 * installing twice returns the same one.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "../../backend/register_gradients.ts";
 * import { installFreeBackward } from "./free_backward.ts";
 * await tf.setBackend("cpu");
 * const uninstall = installFreeBackward();
 * const x = tf.tensor1d([0]);
 * // d/dv (e^v)² = 2e^(2v): 2 at v = 0, as without freeing
 * const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.exp(v))))(x);
 * uninstall();
 * if (g.dataSync()[0] !== 2) throw new Error();
 * tf.dispose([x, g]);
 * ```
 */
export function installFreeBackward(): () => void {
  if (installed) return installed;
  const engine = tf.engine() as unknown as EngineInternals;
  const originalAddTapeNode = engine.addTapeNode;
  const originalGradients = engine.gradients;
  const protectedDys = new Set<tf.Tensor>();
  let pending: Pending | undefined;

  const flush = () => {
    if (!pending) return;
    for (const t of pending.tensors) {
      if (!pending.returned.has(t) && !protectedDys.has(t)) t.dispose();
    }
    pending = undefined;
  };

  engine.addTapeNode = function (this: EngineInternals, ...args: unknown[]) {
    originalAddTapeNode.apply(this, args);
    const tape = this.state.activeTape!;
    const node = tape[tape.length - 1];
    const gradient = node.gradient;
    if (!gradient) return;
    node.gradient = (dys) => {
      flush();
      const thunks = gradient(dys);
      if (engine.state.gradientDepth > 0) return thunks;
      const returned = new Set<tf.Tensor>();
      const wrapped: Record<string, () => tf.Tensor> = {};
      for (const name of Object.keys(thunks)) {
        wrapped[name] = () => {
          let dx = thunks[name]();
          // One tensor given as the gradient of two inputs would become the pending gradient
          // of both producers and be freed after the first: each gets its own handle (same
          // data, so the same numbers).
          if (returned.has(dx)) dx = dx.clone();
          returned.add(dx);
          return dx;
        };
      }
      const tensors = dys.filter((t): t is tf.Tensor => t != null);
      pending = { tensors: [...tensors, ...(node.saved ?? [])], returned };
      return wrapped;
    };
  } as typeof engine.addTapeNode;

  engine.gradients = function (this: EngineInternals, ...args: unknown[]) {
    const dy = args[2] as tf.Tensor | undefined;
    const guard = dy != null && !protectedDys.has(dy);
    if (guard) protectedDys.add(dy);
    try {
      return originalGradients.apply(this, args);
    } finally {
      if (guard) protectedDys.delete(dy);
      // What the last node left is freed by the backward pass's own scope (or is a result).
      pending = undefined;
    }
  } as typeof engine.gradients;

  installed = () => {
    engine.addTapeNode = originalAddTapeNode;
    engine.gradients = originalGradients;
    installed = undefined;
  };
  return installed;
}

/**
 * Runs `fn` with {@linkcode installFreeBackward} in effect, and restores the engine after it
 * unless it was installed already (by a caller further out).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import "../../backend/register_gradients.ts";
 * import { withFreeBackward } from "./free_backward.ts";
 * await tf.setBackend("cpu");
 * const x = tf.tensor1d([0]);
 * const g = withFreeBackward(() => tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.exp(v))))(x));
 * if (g.dataSync()[0] !== 2) throw new Error();
 * tf.dispose([x, g]);
 * ```
 */
export function withFreeBackward<T>(fn: () => T): T {
  const outer = installed !== undefined;
  const uninstall = installFreeBackward();
  try {
    return fn();
  } finally {
    if (!outer) uninstall();
  }
}
