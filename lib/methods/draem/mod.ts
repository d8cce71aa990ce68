/**
 * DRAEM: configuration, networks, losses and the method.
 * @module
 */
export * from "./config.ts";
export * from "./loss.ts";
export * from "./model.ts";
export * from "./draem.ts";
