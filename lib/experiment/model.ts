/**
 * Builds the trainable model of one training unit (a class, or all classes): the method plug-in,
 * wrapped by CCL when the config asks for it.
 * @module
 */
import type { Backbone } from "../backbones/types.ts";
import { cclObjective } from "../ccl/ccl_objective.ts";
import { methodObjective } from "../methods/objective.ts";
import { createMethod } from "../methods/registry.ts";
import type { AnomalyMethod, Objective } from "../methods/types.ts";
import { deriveSeed } from "../util/random.ts";
import type { ExperimentConfig } from "./config.ts";

/** A method and the objective that trains it; `dispose` frees both. */
export interface UnitModel {
  method: AnomalyMethod;
  objective: Objective;
  dispose(): void;
}

/** Creates the method (and CCL wrapper) of `unit`, initialised from the run's seed and the unit name. */
export function buildUnitModel(
  config: ExperimentConfig,
  backbone: Backbone,
  unit: string,
): UnitModel {
  const method = createMethod(
    config.method,
    backbone,
    { ...config.methodOptions, learningRate: config.learningRate },
    deriveSeed(config.seed, `${unit}/method`),
  );
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
