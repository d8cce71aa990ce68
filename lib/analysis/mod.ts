/**
 * Analyses of trained models: how much they confuse classes.
 * @module
 */
export * from "./class_clustering.ts";
