/**
 * Validates an {@linkcode OptimizerSpec} and fills in its defaults.
 * @module
 */
import type { OptimizerSpec, ResolvedOptimizerSpec } from "./types.ts";

const KINDS = ["adam", "adamw", "sgd"];

function fail(message: string): never {
  throw new Error(`lib/optim: ${message}`);
}

/**
 * The spec with PyTorch's defaults; throws naming the field on a bad value.
 *
 * @example
 * ```ts
 * import { resolveOptimizerSpec } from "./resolve_spec.ts";
 * const spec = resolveOptimizerSpec({ kind: "adamw", learningRate: 1e-3 });
 * if (spec.weightDecay !== 0.01 || spec.beta1 !== 0.9) throw new Error();
 * ```
 */
export function resolveOptimizerSpec(spec: OptimizerSpec): ResolvedOptimizerSpec {
  if (!KINDS.includes(spec.kind)) {
    fail(`kind must be one of ${KINDS.join(", ")}, got ${JSON.stringify(spec.kind)}`);
  }
  const resolved: ResolvedOptimizerSpec = {
    kind: spec.kind,
    learningRate: spec.learningRate,
    beta1: spec.beta1 ?? 0.9,
    beta2: spec.beta2 ?? 0.999,
    epsilon: spec.epsilon ?? 1e-8,
    weightDecay: spec.weightDecay ?? (spec.kind === "adamw" ? 0.01 : 0),
    momentum: spec.momentum ?? 0,
    nesterov: spec.nesterov ?? false,
  };
  checkLearningRate(resolved.learningRate);
  for (const key of ["beta1", "beta2"] as const) {
    const value = resolved[key];
    if (!(value >= 0 && value < 1)) fail(`${key} must be in [0, 1), got ${value}`);
  }
  if (!(resolved.epsilon >= 0) || !Number.isFinite(resolved.epsilon)) {
    fail(`epsilon must be a finite number >= 0, got ${resolved.epsilon}`);
  }
  if (!(resolved.weightDecay >= 0) || !Number.isFinite(resolved.weightDecay)) {
    fail(`weightDecay must be a finite number >= 0, got ${resolved.weightDecay}`);
  }
  if (!(resolved.momentum >= 0 && resolved.momentum < 1)) {
    fail(`momentum must be in [0, 1), got ${resolved.momentum}`);
  }
  if (resolved.nesterov && (resolved.kind !== "sgd" || resolved.momentum === 0)) {
    fail("nesterov needs kind 'sgd' and momentum > 0");
  }
  if (resolved.kind !== "sgd" && resolved.momentum !== 0) {
    fail(`momentum applies to 'sgd' only, not '${resolved.kind}'`);
  }
  return resolved;
}

/** Throws unless `learningRate` is a finite number > 0. */
export function checkLearningRate(learningRate: number): void {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    fail(`learningRate must be a finite number > 0, got ${learningRate}`);
  }
}
