/**
 * One optimiser update over all of RD's trainable variables (small_resnet backbone, as the
 * demo), on the selected backend: TF.js's `tf.train.adam` against `lib/optim`'s Adam, fused
 * (one kernel per variable on wasm) and composite.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import { createMethod } from "../lib/methods/registry.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createOptimizer } from "../lib/optim/mod.ts";

await selectBackend({ log: false });
const backbone = await loadBackbone("small_resnet");
const rd = createMethod("rd", backbone, {}, 0);
const variables = methodObjective(rd).parameterGroups().flatMap((g) => g.variables);
const grads: tf.NamedTensorMap = Object.fromEntries(
  variables.map((v) => [v.name, tf.randomNormal(v.shape, 0, 1e-3, "float32", 1)]),
);
const count = variables.reduce((s, v) => s + v.size, 0);
const label = `${variables.length} variables, ${(count / 1e6).toFixed(2)} M values`;

const tfAdam = tf.train.adam(1e-3, 0.5, 0.999, 1e-8);
const fused = createOptimizer({ kind: "adam", learningRate: 1e-3, beta1: 0.5 }, variables);
const composite = createOptimizer({ kind: "adam", learningRate: 1e-3, beta1: 0.5 }, variables, {
  fused: false,
});
const sgd = createOptimizer({ kind: "sgd", learningRate: 1e-3, momentum: 0.9 }, variables);

Deno.bench(`tf.train.adam update, ${label}`, { group: "adam", baseline: true }, () => {
  tfAdam.applyGradients(grads as Record<string, tf.Variable>);
});
Deno.bench(`lib/optim adam, fused kernel, ${label}`, { group: "adam" }, () => {
  fused.applyGradients(grads);
});
Deno.bench(`lib/optim adam, composite, ${label}`, { group: "adam" }, () => {
  composite.applyGradients(grads);
});
Deno.bench(`lib/optim sgd momentum, ${label}`, { group: "adam" }, () => {
  sgd.applyGradients(grads);
});
