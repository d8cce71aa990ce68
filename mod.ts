/**
 * ccl-ad: multi-class industrial anomaly detection with class-aware contrastive learning.
 *
 * Rooms: `backend` (TF.js backend choice, wasm gradient kernels), `data` (dataset readers,
 * loading, batches, augmentations, the synthetic dataset), `metrics` (exact I-/P-AUROC, AP,
 * F1max, AUPRO, mAD), `backbones` (frozen ResNets from safetensors), `methods` (the method
 * interface, RD, the trainer), `ccl` (the CCL wrapper and losses), `clustering` (k-means
 * pseudo-labels, V-measure) and `experiment` (the runner and the demo).
 *
 * @example
 * ```ts ignore
 * import { runExperiment } from "./mod.ts";
 * const result = await runExperiment({ name: "rd-joint-ccl", strategy: "joint", ccl: {}, epochs: 10 });
 * console.log(result.mean.iAuroc);
 * ```
 * @module
 */
export * from "./lib/backend/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/metrics/mod.ts";
export * from "./lib/backbones/mod.ts";
export * from "./lib/methods/mod.ts";
export * from "./lib/optim/mod.ts";
export * from "./lib/parallel/mod.ts";
export * from "./lib/ccl/mod.ts";
export * from "./lib/experiment/mod.ts";
export * from "./lib/clustering/mod.ts";
export * from "./lib/analysis/mod.ts";
export * from "./lib/plots/mod.ts";
export * from "./lib/reproduce/mod.ts";
export * from "./lib/grid/mod.ts";
