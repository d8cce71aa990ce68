/**
 * The experiment runner: configs, training units, checkpoints, evaluation, results and the demo.
 * @module
 */
export * from "./config.ts";
export * from "./dataset.ts";
export * from "./model.ts";
export * from "./checkpoint.ts";
export * from "./train_unit.ts";
export * from "./predict.ts";
export * from "./run_experiment.ts";
export * from "./evaluate_run.ts";
export * from "./progress.ts";
export * from "./table.ts";
export * from "./results_table.ts";
export * from "./demo.ts";
export * from "./defect_breakdown.ts";
