/**
 * Anomaly-detection methods behind one interface (RD, DeSTSeg, DRAEM), their shared layers and
 * components, the anomaly synthesiser, the plain objective, the trainer and the registry.
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
export * from "./destseg/mod.ts";
export * from "./draem/mod.ts";
export * from "./synthetic/mod.ts";
