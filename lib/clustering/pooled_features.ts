/**
 * One feature vector per image from a frozen backbone: the feature maps averaged over space
 * (global average pooling), as the CCL code clusters ImageNet ResNet-18's pooled 512-d features.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Backbone } from "../backbones/types.ts";
import { batchIterator, type DecodeCache } from "../data/batches.ts";
import type { SampleRecord } from "../data/types.ts";

/** Which stages' pooled features make up the vector. */
export type PooledStages = "last" | "all";

/** Options of {@linkcode pooledFeatures}. */
export interface PooledFeatureOptions {
  /** Side the images are resized to. */
  size: number;
  /** Images per forward pass (default 32). */
  batchSize?: number;
  /** The last returned stage only (default), or every stage's pooled features concatenated. */
  stages?: PooledStages;
  /**
   * Scale each vector to unit length (default true), so that k-means compares directions
   * (cosine), not how strongly an image activates the backbone. With `stages: "all"` each
   * stage is normalised first, so that every stage weighs the same whatever its channel count.
   */
  normalize?: boolean;
  /** Called with 0 and the total before the first batch, then after each batch. */
  onProgress?: (done: number, total: number) => void;
  /** Decoded-image cache shared with other passes over the same images. */
  cache?: DecodeCache;
}

/** The length of the vectors {@linkcode pooledFeatures} returns for a backbone. */
export function pooledFeatureDimension(backbone: Backbone, stages: PooledStages = "last"): number {
  const channels = backbone.channels;
  return stages === "last" ? channels[channels.length - 1] : channels.reduce((a, b) => a + b, 0);
}

/**
 * Global-average-pooled backbone features of each record's image, in record order.
 *
 * @example
 * ```ts ignore
 * import { loadBackbone } from "../backbones/registry.ts";
 * import { pooledFeatures } from "./pooled_features.ts";
 * const backbone = await loadBackbone("small_resnet");
 * const features = await pooledFeatures(backbone, records, { size: 64 }); // 128 values each
 * backbone.dispose();
 * ```
 */
export async function pooledFeatures(
  backbone: Backbone,
  records: readonly SampleRecord[],
  options: PooledFeatureOptions,
): Promise<Float32Array[]> {
  const stages = options.stages ?? "last";
  if (stages !== "last" && stages !== "all") {
    throw new RangeError(`pooledFeatures: stages must be "last" or "all", got "${stages}"`);
  }
  const normalize = options.normalize ?? true;
  const features: Float32Array[] = [];
  options.onProgress?.(0, records.length);
  const batches = batchIterator(records, {
    batchSize: options.batchSize ?? 32,
    size: options.size,
    normalize: true,
    cache: options.cache,
  });
  for await (const batch of batches) {
    const pooled = await poolBatch(backbone, batch.images, batch.shape, stages);
    for (let b = 0; b < batch.records.length; b++) {
      const parts = pooled.map((stage) =>
        stage.values.subarray(b * stage.width, (b + 1) * stage.width)
      );
      features.push(joinStages(parts, normalize, batch.records[b].imagePath));
    }
    options.onProgress?.(features.length, records.length);
  }
  return features;
}

/**
 * Pooled values of one batch for each used stage: `width` values per image. Read back
 * asynchronously (a synchronous read crashes TF.js WebGPU under Deno).
 */
async function poolBatch(
  backbone: Backbone,
  images: Float32Array,
  shape: [number, number, number, 3],
  stages: PooledStages,
): Promise<{ values: Float32Array; width: number }[]> {
  const pooled = tf.tidy(() => {
    const maps = backbone.apply(tf.tensor4d(images, shape));
    const used = stages === "last" ? maps.slice(-1) : maps;
    return used.map((map) => tf.mean(map, [1, 2]) as tf.Tensor2D);
  });
  try {
    return await Promise.all(
      pooled.map(async (t) => ({ values: await t.data() as Float32Array, width: t.shape[1] })),
    );
  } finally {
    tf.dispose(pooled);
  }
}

function joinStages(parts: Float32Array[], normalize: boolean, imagePath: string): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    const scale = normalize ? 1 / (vectorNorm(part, imagePath) * Math.sqrt(parts.length)) : 1;
    for (let c = 0; c < part.length; c++) out[offset + c] = part[c] * scale;
    offset += part.length;
  }
  return out;
}

function vectorNorm(values: Float32Array, imagePath: string): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm)) {
    throw new RangeError(`pooledFeatures: non-finite backbone features for ${imagePath}`);
  }
  // An all-zero vector (possible after ReLU) stays zero rather than becoming NaN.
  return norm > 0 ? norm : 1;
}
