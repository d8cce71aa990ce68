/**
 * What the analysis reads from a trained model, through the method interface: compact features
 * (L2-normalised, for clustering and embeddings) and pooled reconstructions in the encoder's
 * feature space (for reconstruction confusion), over the whole image and inside masks.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { batchIterator, type DecodeCache } from "../data/batches.ts";
import type { SampleRecord } from "../data/types.ts";
import type { AnomalyMethod, Objective, PredictOptions } from "../methods/types.ts";
import { mulberry32, shuffleInPlace } from "../util/random.ts";
import {
  poolFeatures,
  readScaleVectors,
  type RegionCells,
  type ScaleVectors,
} from "./reconstruction_confusion.ts";

/** How records are loaded. */
export interface FeatureOptions {
  size: number;
  batchSize: number;
  cache?: DecodeCache;
}

/** L2-normalised compact features of `records`, one per record, in order. */
export async function compactFeaturesOf(
  objective: Pick<Objective, "compactFeatures">,
  records: readonly SampleRecord[],
  options: FeatureOptions,
): Promise<Float32Array[]> {
  const features: Float32Array[] = [];
  for await (const batch of batchIterator(records, { ...options })) {
    const compact = tf.tidy(() => {
      const raw = objective.compactFeatures(tf.tensor4d(batch.images, batch.shape));
      return tf.div(raw, tf.maximum(tf.norm(raw, "euclidean", 1, true), 1e-12)) as tf.Tensor2D;
    });
    const values = await compact.data() as Float32Array;
    const dim = compact.shape[1];
    compact.dispose();
    for (let i = 0; i < batch.records.length; i++) {
      features.push(values.slice(i * dim, (i + 1) * dim));
    }
  }
  return features;
}

/** Pooled features of one image: target and reconstruction, whole image and inside its mask. */
export interface PooledImage {
  target: ScaleVectors;
  reconstruction: ScaleVectors;
  /** Inside the ground-truth mask; absent for images without a (non-empty) mask. */
  maskedTarget?: ScaleVectors;
  maskedReconstruction?: ScaleVectors;
  /** Per scale, the positions at least half inside the mask (absent without a mask). */
  targetCells?: RegionCells;
  reconstructionCells?: RegionCells;
}

/** The message when a method cannot show its reconstruction. */
export function missingReconstructionMessage(method: string): string {
  return `method "${method}" does not implement reconstructedFeatures (lib/methods/types.ts), ` +
    "so reconstruction confusion cannot be measured for it";
}

interface MapValues {
  data: Float32Array;
  h: number;
  w: number;
  c: number;
}

async function readMaps(maps: readonly tf.Tensor4D[]): Promise<MapValues[]> {
  return await Promise.all(maps.map(async (m) => ({
    data: await m.data() as Float32Array,
    h: m.shape[1],
    w: m.shape[2],
    c: m.shape[3],
  })));
}

function cell(map: MapValues, image: number, position: number): Float32Array {
  const start = (image * map.h * map.w + position) * map.c;
  return map.data.slice(start, start + map.c);
}

/** Area-averaged mask weights [B, h, w] at a map's size. */
function maskWeights(masks: tf.Tensor3D, h: number): tf.Tensor3D {
  const factor = masks.shape[1] / h;
  return tf.squeeze(
    tf.avgPool(tf.expandDims(masks, 3) as tf.Tensor4D, factor, factor, "valid"),
    [3],
  ) as tf.Tensor3D;
}

/**
 * Runs `method.reconstructedFeatures` over `records` and pools target and reconstruction per
 * scale, over the image and, with `masks`, inside each image's ground-truth mask (also keeping
 * the positions at least half inside it).
 */
export async function pooledReconstructions(
  method: AnomalyMethod,
  predictOptions: PredictOptions,
  records: readonly SampleRecord[],
  options: FeatureOptions & { masks?: boolean },
): Promise<PooledImage[]> {
  if (!method.reconstructedFeatures) throw new Error(missingReconstructionMessage(method.name));
  const out: PooledImage[] = [];
  for await (
    const batch of batchIterator(records, {
      batchSize: options.batchSize,
      size: options.size,
      cache: options.cache,
      withMasks: options.masks ?? false,
    })
  ) {
    const images = tf.tensor4d(batch.images, batch.shape);
    const { target, reconstruction } = method.reconstructedFeatures!(images, predictOptions);
    images.dispose();
    const pooled = tf.tidy(() => {
      const whole = [poolFeatures(target), poolFeatures(reconstruction)];
      if (!batch.masks) return { vectors: whole, weights: [] as tf.Tensor3D[] };
      const size = batch.shape[1];
      const packed = new Float32Array(batch.masks.length * size * size);
      batch.masks.forEach((m, i) => packed.set(m, i * size * size));
      const masks = tf.tensor3d(packed, [batch.masks.length, size, size]);
      return {
        vectors: [...whole, poolFeatures(target, masks), poolFeatures(reconstruction, masks)],
        weights: target.map((t) => maskWeights(masks, t.shape[1])),
      };
    });
    const vectors = await Promise.all(pooled.vectors.map((scales) => readScaleVectors(scales)));
    const weights = await Promise.all(pooled.weights.map((w) => w.data() as Promise<Float32Array>));
    const hasMask = batch.records.map((_, i) => batch.masks?.[i].some((v) => v > 0) ?? false);
    const [targetMaps, reconstructionMaps] = hasMask.some((m) => m)
      ? await Promise.all([readMaps(target), readMaps(reconstruction)])
      : [[], []];
    tf.dispose([...pooled.vectors.flat(), ...pooled.weights, ...target, ...reconstruction]);
    batch.records.forEach((_, i) => {
      if (!hasMask[i]) {
        out.push({ target: vectors[0][i], reconstruction: vectors[1][i] });
        return;
      }
      const inside = (maps: MapValues[]) =>
        maps.map((map, s) => {
          const cells: Float32Array[] = [];
          const area = map.h * map.w;
          for (let p = 0; p < area; p++) {
            if (weights[s][i * area + p] >= 0.5) cells.push(cell(map, i, p));
          }
          return cells;
        });
      out.push({
        target: vectors[0][i],
        reconstruction: vectors[1][i],
        maskedTarget: vectors[2][i],
        maskedReconstruction: vectors[3][i],
        targetCells: inside(targetMaps),
        reconstructionCells: inside(reconstructionMaps),
      });
    });
  }
  return out;
}

/**
 * Per record and scale, up to `perImage` randomly chosen positions' vectors of the method's
 * target features (seeded), for {@linkcode partPrototypes}; also each record's pooled target.
 */
export async function sampleTargetCells(
  method: AnomalyMethod,
  predictOptions: PredictOptions,
  records: readonly SampleRecord[],
  options: FeatureOptions & { perImage?: number; seed?: number },
): Promise<{ cells: RegionCells[]; pooled: ScaleVectors[] }> {
  if (!method.reconstructedFeatures) throw new Error(missingReconstructionMessage(method.name));
  const perImage = options.perImage ?? 24;
  const rng = mulberry32(options.seed ?? 0);
  const cells: RegionCells[] = [];
  const pooled: ScaleVectors[] = [];
  for await (
    const batch of batchIterator(records, {
      batchSize: options.batchSize,
      size: options.size,
      cache: options.cache,
    })
  ) {
    const images = tf.tensor4d(batch.images, batch.shape);
    const { target, reconstruction } = method.reconstructedFeatures!(images, predictOptions);
    images.dispose();
    tf.dispose(reconstruction);
    const means = poolFeatures(target);
    pooled.push(...await readScaleVectors(means));
    const maps = await readMaps(target);
    tf.dispose([...means, ...target]);
    batch.records.forEach((_, i) => {
      cells.push(maps.map((map) => {
        const area = map.h * map.w;
        const order = Array.from({ length: area }, (_, p) => p);
        shuffleInPlace(order, rng);
        return order.slice(0, Math.min(perImage, area)).map((p) => cell(map, i, p));
      }));
    });
  }
  return { cells, pooled };
}
