/**
 * Synthetic anomalies for DRAEM and DeSTSeg: Perlin masks filled with foreign textures.
 * @module
 */
export * from "./perlin.ts";
export * from "./textures.ts";
export * from "./texture_folder.ts";
export * from "./synthesize.ts";
