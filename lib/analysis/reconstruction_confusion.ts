/**
 * Reconstruction confusion, the paper's notion made a number. Each class has a normal prototype
 * per scale: the mean of the encoder's features over the class's training normals (pooled over
 * positions, so objects at different places share it). A test image's reconstruction is
 * assigned to the class whose prototype it is nearest to (cosine distance, mean over scales);
 * the class x class table of true vs nearest class, and its off-diagonal share, measure how
 * often a model reconstructs an image as another class. For `foreign_class` anomalies the same
 * is done inside the pasted region, against each class's nearest "part" (k-means centroids of
 * its per-position features, see {@linkcode PartPrototypes}): reconstructed toward the host
 * class (the model repairs the patch, which is right) or toward the pasted class (the patch is
 * copied through and missed)?
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { kmeans } from "../clustering/kmeans.ts";

/** Pooled feature vectors of one image (or region): one vector per scale. */
export type ScaleVectors = Float32Array[];

/** Per class, per scale, the mean pooled feature. */
export interface Prototypes {
  classes: string[];
  /** `vectors[c][s]`. */
  vectors: Float64Array[][];
}

/**
 * Class prototypes: per class and scale, the mean of the pooled vectors of its images.
 *
 * @example
 * ```ts
 * import { classPrototypes } from "./reconstruction_confusion.ts";
 * const p = classPrototypes(["a", "a"], [[Float32Array.of(1, 0)], [Float32Array.of(3, 2)]]);
 * // p.vectors[0][0] = [2, 1]
 * ```
 */
export function classPrototypes(
  classNames: readonly string[],
  pooled: readonly ScaleVectors[],
): Prototypes {
  if (classNames.length !== pooled.length || pooled.length === 0) {
    throw new RangeError(
      `classPrototypes: need one pooled feature per image (> 0), got ${pooled.length} for ` +
        `${classNames.length} class names`,
    );
  }
  const classes = [...new Set(classNames)].sort();
  const scales = pooled[0].map((v) => v.length);
  const sums = classes.map(() => scales.map((d) => new Float64Array(d)));
  const counts = new Array<number>(classes.length).fill(0);
  const index = new Map(classes.map((c, i) => [c, i]));
  pooled.forEach((vectors, i) => {
    if (vectors.length !== scales.length || vectors.some((v, s) => v.length !== scales[s])) {
      throw new RangeError(`classPrototypes: image ${i} has other scales than image 0`);
    }
    const c = index.get(classNames[i])!;
    counts[c]++;
    vectors.forEach((v, s) => v.forEach((x, j) => (sums[c][s][j] += x)));
  });
  return {
    classes,
    vectors: sums.map((perScale, c) => perScale.map((sum) => sum.map((x) => x / counts[c]))),
  };
}

function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return 1 - dot / Math.max(Math.sqrt(na * nb), 1e-12);
}

/** Mean over scales of the cosine distance of `vectors` to each class prototype. */
export function prototypeDistances(vectors: ScaleVectors, prototypes: Prototypes): number[] {
  return prototypes.vectors.map((perScale) =>
    perScale.reduce((sum, proto, s) => sum + cosineDistance(vectors[s], proto), 0) /
    perScale.length
  );
}

/** The index of the nearest prototype's class (ties: the first). */
export function nearestClass(vectors: ScaleVectors, prototypes: Prototypes): number {
  const d = prototypeDistances(vectors, prototypes);
  let best = 0;
  for (let c = 1; c < d.length; c++) if (d[c] < d[best]) best = c;
  return best;
}

/** True class x nearest-prototype class. */
export interface ClassConfusion {
  classes: string[];
  /** `matrix[t][p]`: images of class `t` whose reconstruction is nearest class `p`. */
  matrix: number[][];
  images: number;
  /** Share of images off the diagonal (reconstructed as another class). */
  offDiagonalShare: number;
}

/**
 * The class x class table of true class against the class whose prototype each pooled
 * reconstruction is nearest to.
 *
 * @example
 * ```ts
 * import { classPrototypes, reconstructionConfusion } from "./reconstruction_confusion.ts";
 * const protos = classPrototypes(["a", "b"], [[Float32Array.of(1, 0)], [Float32Array.of(0, 1)]]);
 * const c = reconstructionConfusion(["a", "b"], [[Float32Array.of(0.1, 1)], [Float32Array.of(0, 1)]], protos);
 * // c.matrix [[0, 1], [0, 1]], c.offDiagonalShare 0.5
 * ```
 */
export function reconstructionConfusion(
  classNames: readonly string[],
  reconstructions: readonly ScaleVectors[],
  prototypes: Prototypes,
): ClassConfusion {
  if (classNames.length !== reconstructions.length) {
    throw new RangeError(
      `reconstructionConfusion: ${classNames.length} class names, ${reconstructions.length} images`,
    );
  }
  const k = prototypes.classes.length;
  const index = new Map(prototypes.classes.map((c, i) => [c, i]));
  const matrix = prototypes.classes.map(() => new Array<number>(k).fill(0));
  let off = 0;
  reconstructions.forEach((vectors, i) => {
    const t = index.get(classNames[i]);
    if (t === undefined) {
      throw new RangeError(`reconstructionConfusion: class "${classNames[i]}" has no prototype`);
    }
    const p = nearestClass(vectors, prototypes);
    matrix[t][p]++;
    if (p !== t) off++;
  });
  return {
    classes: prototypes.classes,
    matrix,
    images: classNames.length,
    offDiagonalShare: classNames.length === 0 ? 0 : off / classNames.length,
  };
}

/**
 * Per class and scale, a few "part" centroids of the encoder's per-position features over the
 * class's training normals (k-means). A pasted patch is a small part of another class (a screw
 * head, a pill's imprint); a whole-image mean is dominated by background, so regions are
 * compared with the nearest part of each class instead.
 */
export interface PartPrototypes {
  classes: string[];
  /** `parts[c][s]`: centroids of class `c` at scale `s`. */
  parts: Float32Array[][][];
}

/** Feature vectors of the positions inside a region, per scale (a scale may have none). */
export type RegionCells = Float32Array[][];

/**
 * Part prototypes from per-position feature samples: `samples[i][s]` lists vectors of image
 * `i` at scale `s`; each class's vectors at each scale are clustered into `parts` centroids.
 *
 * @example
 * ```ts
 * import { partPrototypes } from "./reconstruction_confusion.ts";
 * const v = (...x: number[]) => Float32Array.from(x);
 * const p = partPrototypes(["a", "b"], [[[v(1, 0), v(0, 1)]], [[v(1, 1), v(1, 1)]]], 2);
 * // p.parts[0][0]: two centroids, (1, 0) and (0, 1)
 * ```
 */
export function partPrototypes(
  classNames: readonly string[],
  samples: readonly RegionCells[],
  parts = 8,
  seed = 0,
): PartPrototypes {
  if (classNames.length !== samples.length || samples.length === 0) {
    throw new RangeError(
      `partPrototypes: need samples per image (> 0), got ${samples.length} for ` +
        `${classNames.length} class names`,
    );
  }
  const classes = [...new Set(classNames)].sort();
  const scales = samples[0].length;
  return {
    classes,
    parts: classes.map((c) =>
      Array.from({ length: scales }, (_, s) => {
        const points = samples.flatMap((image, i) => (classNames[i] === c ? image[s] : []));
        if (points.length === 0) {
          throw new RangeError(`partPrototypes: class "${c}" has no samples at scale ${s}`);
        }
        const k = Math.min(parts, points.length);
        return kmeans(points, k, { seed, restarts: 2 }).centroids;
      })
    ),
  };
}

/**
 * Positions a scale needs inside a region to count: at coarser scales a small region holds one
 * or two positions whose receptive fields are mostly the host around it (measured on the
 * synthetic `foreign_class` patches: the encoder's own features then point to the host).
 */
export const MIN_REGION_CELLS = 8;

/**
 * Per class: the mean over the region's positions of the cosine distance to the class's nearest
 * part, averaged over the scales with at least {@linkcode MIN_REGION_CELLS} positions (the
 * finest scale with any, if none has that many); NaN if the region has no position at all.
 */
export function regionDistances(cells: RegionCells, prototypes: PartPrototypes): number[] {
  const counts = cells.map((list) => list?.length ?? 0);
  let use = counts.map((n) => n >= MIN_REGION_CELLS);
  if (!use.some((u) => u)) {
    const finest = counts.findIndex((n) => n > 0);
    use = counts.map((_, s) => s === finest);
  }
  return prototypes.parts.map((perScale) => {
    let sum = 0;
    let scales = 0;
    perScale.forEach((centroids, s) => {
      const list = cells[s] ?? [];
      if (!use[s] || list.length === 0) return;
      let mean = 0;
      for (const cell of list) {
        let best = Infinity;
        for (const centroid of centroids) best = Math.min(best, cosineDistance(cell, centroid));
        mean += best / list.length;
      }
      sum += mean;
      scales++;
    });
    return scales === 0 ? NaN : sum / scales;
  });
}

function argmin(values: readonly number[]): number {
  let best = -1;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && (best < 0 || v < values[best])) best = i;
  });
  return best;
}

/** One pasted region: its host class, the pasted class and the features inside it. */
export interface ForeignRegion {
  host: string;
  pasted: string;
  reconstruction: RegionCells;
  /** The encoder's own features in the region (a check that the patch looks like `pasted`). */
  target: RegionCells;
}

/** Where reconstructions of pasted regions go. */
export interface ForeignRegionReport {
  regions: number;
  /** Share of regions whose reconstruction is nearest the host class (repaired). */
  towardHost: number;
  /** Share nearest the pasted class (copied through: missed). */
  towardPasted: number;
  /** Share nearest a third class. */
  towardOther: number;
  /** Share of regions whose encoder features are nearest the pasted class (the patch is seen). */
  targetNearestPasted: number;
  /** Mean over regions of d(reconstruction, host) - d(reconstruction, pasted); < 0: toward host. */
  meanDistanceMargin: number;
}

/**
 * Counts where the reconstructions of pasted regions land, by nearest class part.
 *
 * @example
 * ```ts
 * import { foreignRegionReport, partPrototypes } from "./reconstruction_confusion.ts";
 * const v = (...x: number[]) => Float32Array.from(x);
 * const protos = partPrototypes(["a", "b"], [[[v(1, 0)]], [[v(0, 1)]]], 1);
 * const r = foreignRegionReport([{
 *   host: "a", pasted: "b", reconstruction: [[v(1, 0.1)]], target: [[v(0, 1)]],
 * }], protos);
 * // r.towardHost 1, r.targetNearestPasted 1
 * ```
 */
export function foreignRegionReport(
  regions: readonly ForeignRegion[],
  prototypes: PartPrototypes,
): ForeignRegionReport {
  const index = new Map(prototypes.classes.map((c, i) => [c, i]));
  let host = 0;
  let pasted = 0;
  let seen = 0;
  let margin = 0;
  let counted = 0;
  for (const region of regions) {
    const h = index.get(region.host);
    const p = index.get(region.pasted);
    if (h === undefined || p === undefined) {
      throw new RangeError(
        `foreignRegionReport: no prototype for "${h === undefined ? region.host : region.pasted}"`,
      );
    }
    const distances = regionDistances(region.reconstruction, prototypes);
    const nearest = argmin(distances);
    if (nearest < 0) continue;
    counted++;
    if (nearest === h) host++;
    else if (nearest === p) pasted++;
    if (argmin(regionDistances(region.target, prototypes)) === p) seen++;
    margin += distances[h] - distances[p];
  }
  const share = (count: number) => (counted === 0 ? 0 : count / counted);
  return {
    regions: counted,
    towardHost: share(host),
    towardPasted: share(pasted),
    towardOther: share(counted - host - pasted),
    targetNearestPasted: share(seen),
    meanDistanceMargin: counted === 0 ? 0 : margin / counted,
  };
}

/**
 * Pools NHWC feature maps to one vector per image: the mean over all positions, or, with
 * `masks` ([B, H, W] at the image size, values 0..1), the mask-weighted mean (the mask is
 * area-averaged to each map's size). Returns [B, C] tensors, one per map.
 */
export function poolFeatures(maps: readonly tf.Tensor4D[], masks?: tf.Tensor3D): tf.Tensor2D[] {
  return tf.tidy(() =>
    maps.map((map) => {
      if (!masks) return tf.mean(map, [1, 2]) as tf.Tensor2D;
      const [, h, w] = map.shape;
      const [, mh, mw] = masks.shape;
      if (mh % h !== 0 || mw % w !== 0 || mh / h !== mw / w) {
        throw new RangeError(`poolFeatures: a ${mh}x${mw} mask does not tile a ${h}x${w} map`);
      }
      const factor = mh / h;
      const weights = tf.avgPool(
        tf.expandDims(masks, 3) as tf.Tensor4D,
        factor,
        factor,
        "valid",
      ) as tf.Tensor4D;
      const total = tf.maximum(tf.sum(weights, [1, 2]), 1e-12) as tf.Tensor2D;
      return tf.div(tf.sum(tf.mul(map, weights), [1, 2]), total) as tf.Tensor2D;
    })
  );
}

/** Reads [B, C] tensors (one per scale) back as per-image {@linkcode ScaleVectors}. */
export async function readScaleVectors(pooled: readonly tf.Tensor2D[]): Promise<ScaleVectors[]> {
  const values = await Promise.all(pooled.map((t) => t.data() as Promise<Float32Array>));
  const batch = pooled[0].shape[0];
  return Array.from({ length: batch }, (_, i) =>
    values.map((v, s) => {
      const d = pooled[s].shape[1];
      return v.slice(i * d, (i + 1) * d);
    }));
}
