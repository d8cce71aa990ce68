/**
 * Our own optimisers: Adam, AdamW and SGD (momentum, Nesterov) over a list of variables, with
 * Adam's update of each variable as one fused kernel on `wasm` (`lib/backend/wasm_adam.ts`)
 * and the same numbers as TF.js's `tf.train.adam` elsewhere. The whole state (moments, step
 * count, beta powers) is ours, so a checkpoint resumes bit-exactly.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import "../backend/register_gradients.ts";
 * import { createOptimizer } from "./mod.ts";
 * await tf.setBackend("cpu");
 *
 * const w = tf.variable(tf.tensor1d([3]), true, "optim_example/w");
 * const optimizer = createOptimizer({ kind: "sgd", learningRate: 0.25, momentum: 0.9 }, [w]);
 * for (let i = 0; i < 3; i++) {
 *   const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)), [w]);
 *   optimizer.applyGradients(grads);
 *   tf.dispose(grads);
 * }
 * if (optimizer.steps !== 3) throw new Error();
 * optimizer.dispose();
 * w.dispose();
 * ```
 * @module
 */
export * from "./types.ts";
export { checkLearningRate, resolveOptimizerSpec } from "./resolve_spec.ts";
export {
  createOptimizer,
  STATE_BETA1_POWER,
  STATE_BETA2_POWER,
  STATE_STEP,
} from "./create_optimizer.ts";
export { adamUpdate, adamUpdateComposite, hasFusedAdam } from "./adam_update.ts";
export type { AdamUpdateResult } from "./adam_update.ts";
export { sgdUpdate } from "./sgd_update.ts";
export type { SgdUpdateAttrs } from "./sgd_update.ts";
