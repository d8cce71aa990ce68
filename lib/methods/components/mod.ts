/**
 * Pieces shared by the methods: frozen-backbone application, cosine similarity, image-score
 * pooling, residual blocks.
 * @module
 */
export * from "./frozen.ts";
export * from "./cosine.ts";
export * from "./scores.ts";
export * from "./residual.ts";
