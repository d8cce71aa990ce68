/**
 * DeSTSeg: configuration, networks and the method.
 * @module
 */
export * from "./config.ts";
export * from "./model.ts";
export * from "./destseg.ts";
