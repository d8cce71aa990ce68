/**
 * The plain training objective of a method: its own loss and nothing else.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { AnomalyMethod, Objective, TrainBatch } from "./types.ts";

/**
 * Wraps a method as an {@linkcode Objective} whose total is the method's loss; the loss is
 * also reported under the method's name (e.g. `{ rd, total }`).
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
    namedVariables: () => method.namedVariables(),
    predict: (images) => method.predict(images),
    compactFeatures: (images) => method.compactFeatures(images),
    losses(batch: TrainBatch) {
      const output = method.forward(batch, { computeLoss: true });
      const { loss } = output;
      if (!loss) {
        throw new Error(
          `lib/methods/objective.ts: method "${method.name}" returned no loss with computeLoss true`,
        );
      }
      // The features are for CCL; the plain objective frees them at once.
      tf.dispose([...output.dense, ...output.matching, output.compact]);
      return { [method.name]: loss, total: loss };
    },
  };
}
