/**
 * Anomaly-detection methods behind one interface, their shared layers, the plain objective,
 * the trainer and the registry.
 * @module
 */
export type * from "./types.ts";
export * from "./layers.ts";
export * from "./components/mod.ts";
export * from "./normalized_method.ts";
export * from "./gaussian_blur.ts";
export * from "./objective.ts";
export * from "./trainer.ts";
export * from "./registry.ts";
export * from "./rd/mod.ts";
