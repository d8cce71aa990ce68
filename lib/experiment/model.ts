/**
 * Builds the trainable model of one training unit (a class, or all classes): the method plug-in,
 * wrapped by CCL when the config asks for it.
 * @module
 */
import type { Backbone } from "../backbones/types.ts";
import { cclObjective } from "../ccl/ccl_objective.ts";
import { acceptImageNetInput } from "../methods/normalized_method.ts";
import { methodObjective } from "../methods/objective.ts";
import { createMethod } from "../methods/registry.ts";
import type { SynthesisResources } from "../methods/synthetic/synthesize.ts";
import type { AnomalyMethod, Objective } from "../methods/types.ts";
import { deriveSeed } from "../util/random.ts";
import type { ExperimentConfig } from "./config.ts";

/** A method and the objective that trains it; `dispose` frees both. */
export interface UnitModel {
  /** The method, taking ImageNet-normalised images whatever it declares. */
  method: AnomalyMethod;
  objective: Objective;
  dispose(): void;
}

/**
 * The options the method is built with: `methodOptions`, over the top-level `learningRate`
 * when that is set (an explicit `methodOptions.learningRate` wins).
 *
 * @example
 * ```ts
 * import { methodOptionsOf } from "./model.ts";
 * const options = methodOptionsOf({ learningRate: 1e-3, methodOptions: { learningRate: 2e-4 } });
 * if (options.learningRate !== 2e-4) throw new Error("method options take precedence");
 * ```
 */
export function methodOptionsOf(
  config: Pick<ExperimentConfig, "learningRate" | "methodOptions">,
): Record<string, unknown> {
  return config.learningRate === null || config.learningRate === undefined
    ? { ...config.methodOptions }
    : { learningRate: config.learningRate, ...config.methodOptions };
}

/**
 * Creates the method (and CCL wrapper) of `unit`, initialised from the run's seed and the unit
 * name. `resources` carry what a method takes besides its JSON options: the run's textures
 * (loaded from `config.textures`) for methods that synthesise anomalies. Inference needs none.
 */
export function buildUnitModel(
  config: ExperimentConfig,
  backbone: Backbone,
  unit: string,
  resources: SynthesisResources = {},
): UnitModel {
  const method = acceptImageNetInput(createMethod(
    config.method,
    backbone,
    methodOptionsOf(config),
    deriveSeed(config.seed, `${unit}/method`),
    resources,
  ));
  if (!config.ccl) {
    return { method, objective: methodObjective(method), dispose: () => method.dispose() };
  }
  const objective = cclObjective(method, config.ccl, deriveSeed(config.seed, `${unit}/ccl`));
  return {
    method,
    objective,
    dispose() {
      objective.dispose();
      method.dispose();
    },
  };
}
