/**
 * Reverse Distillation (RD): configuration, networks, loss, anomaly map and the method.
 * @module
 */
export * from "./config.ts";
export * from "./model.ts";
export * from "./loss.ts";
export * from "./anomaly_map.ts";
export * from "./rd.ts";
