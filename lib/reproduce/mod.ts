/**
 * Reproducing the paper's tables: the real datasets as presets, the paper's settings, its
 * numbers as data, a planner that lists exactly the runs a table needs, and the runner that
 * makes them (resumably) and writes our numbers next to the paper's.
 * @module
 */
export * from "./datasets.ts";
export * from "./settings.ts";
export * from "./paper_tables.ts";
export * from "./plan.ts";
export * from "./side_by_side.ts";
export * from "./run_table.ts";
