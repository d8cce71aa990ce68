/**
 * k-means on pooled-feature-sized input: 3000 points of 512 dimensions in 15 blobs (the size of
 * a pseudo-label run on 15 classes), k = 15. About 0.8 s on a 2-core machine.
 *
 * Run: deno bench -A bench/clustering_bench.ts
 */
import { kmeans } from "../lib/clustering/kmeans.ts";
import { mulberry32 } from "../lib/util/random.ts";

function normal(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function blobs(k: number, perBlob: number, dim: number, seed: number): Float32Array[] {
  const rng = mulberry32(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: dim }, () => normal(rng)));
  return centres.flatMap((centre) =>
    Array.from({ length: perBlob }, () => Float32Array.from(centre, (v) => v + normal(rng)))
  );
}

const points = blobs(15, 200, 512, 18);

Deno.bench("kmeans 3000 x 512, k = 15", () => {
  kmeans(points, 15, { seed: 0 });
});
