/**
 * The plain training objective of a method: its own loss and nothing else.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { AnomalyMethod, ForwardOutput, Objective, TrainBatch } from "./types.ts";

/** The log key of the method's own loss, the same for every method and objective. */
export const METHOD_LOSS_KEY = "method";

/**
 * The named losses a method's forward pass contributes to the log: `method` and one
 * `method.<component>` per term (the same keys with and without CCL).
 */
export function methodLossEntries(
  method: AnomalyMethod,
  output: ForwardOutput,
): Record<string, tf.Scalar> {
  if (!output.loss) {
    throw new Error(
      `lib/methods/objective.ts: method "${method.name}" returned no loss with computeLoss true`,
    );
  }
  const entries: Record<string, tf.Scalar> = { [METHOD_LOSS_KEY]: output.loss };
  for (const name of method.lossComponents) {
    const term = output.components?.[name];
    if (!term) {
      throw new Error(
        `lib/methods/objective.ts: method "${method.name}" declares loss component "${name}" ` +
          `but its forward pass did not return it`,
      );
    }
    entries[`${METHOD_LOSS_KEY}.${name}`] = term;
  }
  return entries;
}

/**
 * Wraps a method as an {@linkcode Objective} whose total is the method's loss; the loss is
 * also reported as `method`, and each of its terms as `method.<term>`.
 *
 * @example
 * ```ts ignore
 * import { methodObjective } from "./objective.ts";
 * import type { AnomalyMethod } from "./types.ts";
 * declare const method: AnomalyMethod;
 * const objective = methodObjective(method);
 * ```
 */
export function methodObjective(method: AnomalyMethod): Objective {
  return {
    name: method.name,
    needsAugmentedView: false,
    parameterGroups: () => method.parameterGroups(),
    phases: () => method.phases?.() ?? [],
    namedVariables: () => method.namedVariables(),
    predict: (images) => method.predict(images),
    compactFeatures: (images) => method.compactFeatures(images),
    losses(batch: TrainBatch) {
      const output = method.forward(batch, { computeLoss: true });
      const entries = methodLossEntries(method, output);
      // The features are for CCL; the plain objective frees them at once.
      tf.dispose([...output.dense, ...output.matching, output.compact]);
      return { ...entries, total: output.loss! };
    },
  };
}
