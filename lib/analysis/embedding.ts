/**
 * 2-D embeddings of feature vectors for plotting: exact PCA, or UMAP (`umap-js`) with a seeded
 * generator, so the same seed gives the same picture.
 * @module
 */
import { UMAP } from "umap-js";
import { mulberry32 } from "../util/random.ts";
import { pca } from "./pca.ts";

/** How to embed. */
export type EmbeddingMethod = "pca" | "umap";

/** Options of {@linkcode embed2d}. */
export interface EmbeddingOptions {
  /** Seed of UMAP's random choices (default 0); PCA ignores it. */
  seed?: number;
  /** UMAP neighbourhood size (default 15, at most points - 1). */
  neighbors?: number;
}

/**
 * Embeds `points` in 2-D. UMAP needs at least 3 points.
 *
 * @example
 * ```ts
 * import { embed2d } from "./embedding.ts";
 * const points = Array.from({ length: 20 }, (_, i) => Float32Array.from([i % 2, i, 3]));
 * const xy = embed2d(points, "pca"); // 20 pairs
 * ```
 */
export function embed2d(
  points: readonly ArrayLike<number>[],
  method: EmbeddingMethod,
  options: EmbeddingOptions = {},
): [number, number][] {
  if (method === "pca") {
    return pca(points, 2).coordinates.map(([x, y]) => [x, y]);
  }
  if (method !== "umap") throw new RangeError(`unknown embedding "${method}" (pca or umap)`);
  if (points.length < 3) throw new RangeError(`UMAP needs at least 3 points, got ${points.length}`);
  const neighbors = Math.min(options.neighbors ?? 15, points.length - 1);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: neighbors,
    minDist: 0.1,
    random: mulberry32(options.seed ?? 0),
  });
  return umap.fit(points.map((p) => Array.from(p))).map(([x, y]) => [x, y]);
}
