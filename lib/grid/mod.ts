/**
 * Experiment grids: a JSON spec of axes (method, strategy, dataset, seed, ...) expanded into named
 * runs, trained by a local process pool or as a Slurm job array (each task resumable), and
 * collected into one table (markdown, JSON, plot) with failed and missing runs named.
 *
 * @example
 * ```ts
 * import { expandGrid } from "./mod.ts";
 * const plan = expandGrid({ name: "g", axes: { strategy: ["joint", "joint+ccl"], seed: [0] } });
 * if (plan.runs.map((r) => r.name).join() !== "joint_seed0,joint-ccl_seed0") throw new Error();
 * ```
 * @module
 */
export * from "./spec.ts";
export * from "./expand.ts";
export * from "./layout.ts";
export * from "./run_state.ts";
export * from "./pool.ts";
export * from "./local.ts";
export * from "./slurm_script.ts";
export * from "./slurm.ts";
export * from "./executor.ts";
export * from "./collect.ts";
export * from "./grid.ts";
