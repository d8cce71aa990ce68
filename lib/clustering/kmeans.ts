/**
 * k-means clustering (Lloyd's algorithm) with seeded greedy k-means++ initialisation, best of
 * several restarts by inertia, and deterministic re-seeding of empty clusters. It follows
 * scikit-learn's `KMeans` (`n_init`, `tol` relative to the mean feature variance, `max_iter`,
 * greedy k-means++ with `2 + floor(ln k)` local trials), with its own seeded generator, so the
 * same seed gives the same clustering on every machine.
 * @module
 */
import { deriveSeed, mulberry32 } from "../util/random.ts";

/** Points to cluster: one vector per point, or `n` rows of `d` values packed row-major. */
export type PointsInput =
  | readonly Float32Array[]
  | { data: Float32Array; n: number; d: number };

/** How the first centroids are chosen. */
export type KMeansInit = "k-means++" | "random" | readonly Float32Array[];

/** Options of {@linkcode kmeans}. */
export interface KMeansOptions {
  /** Seed of every random choice (default 0). */
  seed?: number;
  /** Lloyd iterations per restart at most (default 300). */
  maxIterations?: number;
  /**
   * Convergence threshold on the summed squared centroid shift, relative to the mean per-feature
   * variance of the data, as scikit-learn's `tol` (default 1e-4).
   */
  tolerance?: number;
  /** Independent initialisations; the one with the lowest inertia wins (default 10). */
  restarts?: number;
  /**
   * `"k-means++"` (default), `"random"` (k distinct points drawn uniformly), or `k` explicit
   * starting centroids (then a single run: restarts would repeat it).
   */
  init?: KMeansInit;
}

/** The clustering of the best restart. */
export interface KMeansResult {
  /** The cluster of each point, in 0..k-1; every cluster holds at least one point. */
  assignments: Int32Array;
  /** `k` centroids of `d` values: the means of their clusters' points. */
  centroids: Float32Array[];
  /** Sum of squared distances of the points to their centroids. */
  inertia: number;
  /** Lloyd iterations of the winning restart. */
  iterations: number;
  /** Whether the winning restart converged before `maxIterations`. */
  converged: boolean;
  /** Index of the winning restart. */
  restart: number;
}

/** Points packed row-major in one array. */
interface PackedPoints {
  data: Float32Array;
  n: number;
  d: number;
}

/** The state of one Lloyd run. */
interface Run {
  labels: Int32Array;
  centroids: Float64Array;
  inertia: number;
  iterations: number;
  converged: boolean;
}

/**
 * Clusters points into `k` groups with k-means.
 *
 * @example
 * ```ts
 * import { kmeans } from "./kmeans.ts";
 * const points = [[0, 0], [0, 1], [10, 10], [10, 11]].map((p) => Float32Array.from(p));
 * const { assignments, inertia } = kmeans(points, 2, { seed: 1 });
 * // assignments: [a, a, b, b] with a !== b; inertia: 4 * 0.5 ** 2 = 1
 * ```
 */
export function kmeans(points: PointsInput, k: number, options: KMeansOptions = {}): KMeansResult {
  const packed = packPoints(points);
  const { n, d } = packed;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(
      `kmeans: k must be an integer in [1, ${n}] (the number of points), got ${k}`,
    );
  }
  const seed = options.seed ?? 0;
  const maxIterations = requirePositiveInteger("maxIterations", options.maxIterations ?? 300);
  const tolerance = options.tolerance ?? 1e-4;
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) {
    throw new RangeError(`kmeans: tolerance must be a finite number >= 0, got ${tolerance}`);
  }
  const init = options.init ?? "k-means++";
  const explicit = typeof init !== "string";
  const restarts = explicit ? 1 : requirePositiveInteger("restarts", options.restarts ?? 10);
  if (!explicit && init !== "k-means++" && init !== "random") {
    throw new RangeError(`kmeans: init must be "k-means++", "random" or centroids, got "${init}"`);
  }

  const pointNorms = squaredNorms(packed);
  const shiftTolerance = tolerance * meanFeatureVariance(packed);
  let best: Run | undefined;
  let bestRestart = 0;
  for (let restart = 0; restart < restarts; restart++) {
    const rng = mulberry32(deriveSeed(seed, `kmeans-restart-${restart}`));
    const start = explicit
      ? explicitCentroids(init, k, d)
      : init === "k-means++"
      ? kmeansPlusPlus(packed, pointNorms, k, rng)
      : randomCentroids(packed, k, rng);
    const run = lloyd(packed, pointNorms, start, k, maxIterations, shiftTolerance);
    if (best === undefined || run.inertia < best.inertia) {
      best = run;
      bestRestart = restart;
    }
  }
  const winner = best!;
  const centroids = Array.from(
    { length: k },
    (_, j) => Float32Array.from(winner.centroids.subarray(j * d, (j + 1) * d)),
  );
  return {
    assignments: winner.labels,
    centroids,
    inertia: winner.inertia,
    iterations: winner.iterations,
    converged: winner.converged,
    restart: bestRestart,
  };
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`kmeans: ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Packs the input row-major, checking shapes and that every value is finite. */
export function packPoints(points: PointsInput): PackedPoints {
  let packed: PackedPoints;
  if ("data" in points && !Array.isArray(points)) {
    const { data, n, d } = points as PackedPoints;
    if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1 || data.length !== n * d) {
      throw new RangeError(
        `kmeans: packed points need n >= 1, d >= 1 and data.length = n * d; got n = ${n}, ` +
          `d = ${d}, data.length = ${data.length}`,
      );
    }
    packed = { data, n, d };
  } else {
    const rows = points as readonly Float32Array[];
    if (rows.length === 0) throw new RangeError("kmeans: no points given");
    const d = rows[0].length;
    if (d === 0) throw new RangeError("kmeans: points have no coordinates");
    const data = new Float32Array(rows.length * d);
    rows.forEach((row, i) => {
      if (row.length !== d) {
        throw new RangeError(`kmeans: point ${i} has ${row.length} values, point 0 has ${d}`);
      }
      data.set(row, i * d);
    });
    packed = { data, n: rows.length, d };
  }
  const bad = packed.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new RangeError(
      `kmeans: point ${Math.floor(bad / packed.d)} has a non-finite value ` +
        `(${packed.data[bad]}) at coordinate ${bad % packed.d}`,
    );
  }
  return packed;
}

function squaredNorms({ data, n, d }: PackedPoints): Float64Array {
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let o = i * d, end = o + d; o < end; o++) sum += data[o] * data[o];
    norms[i] = sum;
  }
  return norms;
}

/** Mean over features of the population variance: the scale `tolerance` is relative to. */
function meanFeatureVariance({ data, n, d }: PackedPoints): number {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) mean[c] += data[i * d + c];
  }
  for (let c = 0; c < d; c++) mean[c] /= n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c++) {
      const diff = data[i * d + c] - mean[c];
      total += diff * diff;
    }
  }
  return total / (n * d);
}

/** Squared distance between point `i` and the vector at `offset` of `centroids`. */
function squaredDistance(
  { data, d }: PackedPoints,
  i: number,
  centroids: Float64Array,
  offset: number,
): number {
  let sum = 0;
  for (let c = 0, o = i * d; c < d; c++, o++) {
    const diff = data[o] - centroids[offset + c];
    sum += diff * diff;
  }
  return sum;
}

function copyPoint(points: PackedPoints, i: number, centroids: Float64Array, j: number): void {
  const { data, d } = points;
  for (let c = 0; c < d; c++) centroids[j * d + c] = data[i * d + c];
}

function explicitCentroids(init: readonly Float32Array[], k: number, d: number): Float64Array {
  if (init.length !== k) {
    throw new RangeError(`kmeans: init gives ${init.length} centroids, k is ${k}`);
  }
  const centroids = new Float64Array(k * d);
  init.forEach((row, j) => {
    if (row.length !== d || !row.every(Number.isFinite)) {
      throw new RangeError(`kmeans: init centroid ${j} must be ${d} finite values`);
    }
    centroids.set(row, j * d);
  });
  return centroids;
}

/** `k` distinct points drawn uniformly (partial Fisher-Yates). */
function randomCentroids(points: PackedPoints, k: number, rng: () => number): Float64Array {
  const order = Int32Array.from({ length: points.n }, (_, i) => i);
  const centroids = new Float64Array(k * points.d);
  for (let j = 0; j < k; j++) {
    const pick = j + Math.floor(rng() * (points.n - j));
    [order[j], order[pick]] = [order[pick], order[j]];
    copyPoint(points, order[j], centroids, j);
  }
  return centroids;
}

/**
 * Greedy k-means++ (Arthur & Vassilvitskii 2007, as scikit-learn does it): the first centre is
 * a uniform draw; each next one is the best, by resulting potential, of `2 + floor(ln k)`
 * candidates drawn with probability proportional to the squared distance to the nearest centre.
 */
function kmeansPlusPlus(
  points: PackedPoints,
  pointNorms: Float64Array,
  k: number,
  rng: () => number,
): Float64Array {
  const { data, n, d } = points;
  const centroids = new Float64Array(k * d);
  const trials = 2 + Math.floor(Math.log(k));
  copyPoint(points, Math.floor(rng() * n), centroids, 0);
  let closest = new Float64Array(n);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = squaredDistance(points, i, centroids, 0);
    potential += closest[i];
  }
  const cumulative = new Float64Array(n);
  const candidates = new Int32Array(trials);
  const candidateRows = new Float64Array(trials * d);
  const candidateNorms = new Float64Array(trials);
  const products = new Float64Array(trials);
  const candidatePotentials = new Float64Array(trials);
  const candidateClosest = Array.from({ length: trials }, () => new Float64Array(n));
  for (let j = 1; j < k; j++) {
    let running = 0;
    for (let i = 0; i < n; i++) cumulative[i] = running += closest[i];
    for (let t = 0; t < trials; t++) {
      candidates[t] = potential > 0
        ? sampleByWeight(cumulative, rng() * running)
        : Math.floor(rng() * n); // every point coincides with a centre: any is as good
      copyPoint(points, candidates[t], candidateRows, t);
      candidateNorms[t] = pointNorms[candidates[t]];
    }
    candidatePotentials.fill(0);
    for (let i = 0; i < n; i++) {
      dotWithRows(data, i * d, candidateRows, trials, d, products);
      for (let t = 0; t < trials; t++) {
        const dist = Math.max(0, pointNorms[i] + candidateNorms[t] - 2 * products[t]);
        const nearest = Math.min(closest[i], dist);
        candidateClosest[t][i] = nearest;
        candidatePotentials[t] += nearest;
      }
    }
    let bestTrial = 0;
    for (let t = 1; t < trials; t++) {
      if (candidatePotentials[t] < candidatePotentials[bestTrial]) bestTrial = t;
    }
    copyPoint(points, candidates[bestTrial], centroids, j);
    [closest, candidateClosest[bestTrial]] = [candidateClosest[bestTrial], closest];
    potential = candidatePotentials[bestTrial];
  }
  return centroids;
}

/**
 * Dot products of the point at `offset` of `data` with `count` rows of `rows`, into `out`.
 * Four rows share each load of the point, with one accumulator per row: about four times as
 * fast as one row at a time in V8, and the same summation order on every run.
 */
function dotWithRows(
  data: Float32Array,
  offset: number,
  rows: Float64Array,
  count: number,
  d: number,
  out: Float64Array,
): void {
  let r = 0;
  for (; r + 3 < count; r += 4) {
    const b0 = r * d, b1 = b0 + d, b2 = b1 + d, b3 = b2 + d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let c = 0; c < d; c++) {
      const x = data[offset + c];
      s0 += x * rows[b0 + c];
      s1 += x * rows[b1 + c];
      s2 += x * rows[b2 + c];
      s3 += x * rows[b3 + c];
    }
    out[r] = s0;
    out[r + 1] = s1;
    out[r + 2] = s2;
    out[r + 3] = s3;
  }
  for (; r < count; r++) out[r] = dotProduct(data, offset, rows, r * d, d);
}

/** One dot product, in four interleaved partial sums (twice as fast as one in V8). */
function dotProduct(
  a: Float32Array,
  aOffset: number,
  b: Float64Array,
  bOffset: number,
  d: number,
): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let c = 0;
  for (; c + 3 < d; c += 4) {
    s0 += a[aOffset + c] * b[bOffset + c];
    s1 += a[aOffset + c + 1] * b[bOffset + c + 1];
    s2 += a[aOffset + c + 2] * b[bOffset + c + 2];
    s3 += a[aOffset + c + 3] * b[bOffset + c + 3];
  }
  for (; c < d; c++) s0 += a[aOffset + c] * b[bOffset + c];
  return s0 + s1 + s2 + s3;
}

/** The first index whose cumulative weight exceeds `target` (zero-weight points never win). */
function sampleByWeight(cumulative: Float64Array, target: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Per-point distance bounds of Hamerly's algorithm (2010): Lloyd's iterations with most
 * point-centroid distances skipped. A point keeps its cluster without any distance computed
 * while its upper bound (to its own centroid) stays below both its lower bound (to every other
 * centroid) and half the gap from its centroid to the nearest other one.
 */
interface Bounds {
  /** At least the distance of each point to its own centroid. */
  upper: Float64Array;
  /** At most the distance of each point to any other centroid. */
  lower: Float64Array;
  /** Squared norm of each centroid. */
  centroidNorms: Float64Array;
  /** Half the distance from each centroid to its nearest other centroid. */
  halfGap: Float64Array;
}

function createBounds(n: number, k: number): Bounds {
  return {
    upper: new Float64Array(n),
    lower: new Float64Array(n),
    centroidNorms: new Float64Array(k),
    halfGap: new Float64Array(k),
  };
}

/** Refreshes the centroid norms and gaps after the centroids moved. */
function measureCentroids(centroids: Float64Array, k: number, d: number, bounds: Bounds): void {
  for (let j = 0; j < k; j++) {
    let sum = 0;
    for (let c = j * d, end = c + d; c < end; c++) sum += centroids[c] * centroids[c];
    bounds.centroidNorms[j] = sum;
    bounds.halfGap[j] = Infinity;
  }
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      let sum = 0;
      for (let c = 0; c < d; c++) {
        const diff = centroids[a * d + c] - centroids[b * d + c];
        sum += diff * diff;
      }
      const half = Math.sqrt(sum) / 2;
      if (half < bounds.halfGap[a]) bounds.halfGap[a] = half;
      if (half < bounds.halfGap[b]) bounds.halfGap[b] = half;
    }
  }
}

/** Distance from point `i` to centroid `j`, via |x|^2 + |c|^2 - 2 x.c (halves the work). */
function distanceTo(
  points: PackedPoints,
  pointNorms: Float64Array,
  centroids: Float64Array,
  bounds: Bounds,
  i: number,
  j: number,
): number {
  const { data, d } = points;
  const product = dotProduct(data, i * d, centroids, j * d, d);
  // Clamping at 0 absorbs rounding for a point sitting on its centroid.
  return Math.sqrt(Math.max(0, pointNorms[i] + bounds.centroidNorms[j] - 2 * product));
}

/**
 * Assigns each point to its nearest centroid, skipping points whose bounds prove their cluster
 * unchanged; returns how many labels changed. Ties keep a point in its own cluster, and
 * otherwise go to the lowest index.
 */
function assignPoints(
  points: PackedPoints,
  pointNorms: Float64Array,
  centroids: Float64Array,
  k: number,
  labels: Int32Array,
  bounds: Bounds,
): number {
  const { upper, lower, halfGap, centroidNorms } = bounds;
  const products = new Float64Array(k);
  const distances = new Float64Array(k);
  let changed = 0;
  for (let i = 0; i < points.n; i++) {
    const own = labels[i];
    if (own >= 0) {
      const bound = Math.max(halfGap[own], lower[i]);
      if (upper[i] <= bound) continue;
      upper[i] = distanceTo(points, pointNorms, centroids, bounds, i, own);
      if (upper[i] <= bound) continue;
    }
    dotWithRows(points.data, i * points.d, centroids, k, points.d, products);
    for (let j = 0; j < k; j++) {
      distances[j] = Math.sqrt(Math.max(0, pointNorms[i] + centroidNorms[j] - 2 * products[j]));
    }
    let bestJ = own >= 0 ? own : 0;
    for (let j = 0; j < k; j++) if (distances[j] < distances[bestJ]) bestJ = j;
    let second = Infinity;
    for (let j = 0; j < k; j++) if (j !== bestJ && distances[j] < second) second = distances[j];
    if (own !== bestJ) changed++;
    labels[i] = bestJ;
    upper[i] = distances[bestJ];
    lower[i] = second;
  }
  return changed;
}

/**
 * Loosens the bounds by how far each centroid moved from `previous`; returns the summed
 * squared movement (the convergence measure).
 */
function loosenBounds(
  previous: Float64Array,
  centroids: Float64Array,
  k: number,
  d: number,
  labels: Int32Array,
  bounds: Bounds,
): number {
  const moved = new Float64Array(k);
  let most = -1;
  let shift = 0;
  for (let j = 0; j < k; j++) {
    let sum = 0;
    for (let c = j * d, end = c + d; c < end; c++) {
      const diff = centroids[c] - previous[c];
      sum += diff * diff;
    }
    shift += sum;
    moved[j] = Math.sqrt(sum);
    if (most < 0 || moved[j] > moved[most]) most = j;
  }
  let secondMost = 0;
  for (let j = 0; j < k; j++) if (j !== most) secondMost = Math.max(secondMost, moved[j]);
  const { upper, lower } = bounds;
  for (let i = 0; i < labels.length; i++) {
    upper[i] += moved[labels[i]];
    lower[i] -= labels[i] === most ? secondMost : moved[most];
  }
  measureCentroids(centroids, k, d, bounds);
  return shift;
}

/** Exact squared distance of each point to its own centroid. */
function ownDistances(points: PackedPoints, centroids: Float64Array, labels: Int32Array) {
  return Float64Array.from(
    labels,
    (label, i) => squaredDistance(points, i, centroids, label * points.d),
  );
}

function clusterSizes(labels: Int32Array, k: number): Int32Array {
  const sizes = new Int32Array(k);
  for (const label of labels) sizes[label]++;
  return sizes;
}

/**
 * Gives every empty cluster the point farthest from its centroid among clusters that can spare
 * one (ties: the lowest index), and centres the empty cluster on it; returns how many moved.
 * Fully deterministic, so empty clusters never make two runs with one seed differ. Moved points
 * get bounds of 0, which forces a full check on the next assignment.
 */
function relocateEmptyClusters(
  points: PackedPoints,
  centroids: Float64Array,
  k: number,
  labels: Int32Array,
  bounds: Bounds,
): number {
  const sizes = clusterSizes(labels, k);
  const empty = [...sizes.keys()].filter((j) => sizes[j] === 0);
  if (empty.length === 0) return 0;
  const distances = ownDistances(points, centroids, labels);
  const byDistance = Array.from({ length: points.n }, (_, i) => i)
    .sort((a, b) => distances[b] - distances[a] || a - b);
  let next = 0;
  for (const j of empty) {
    while (sizes[labels[byDistance[next]]] <= 1) next++;
    const i = byDistance[next++];
    sizes[labels[i]]--;
    labels[i] = j;
    sizes[j] = 1;
    bounds.upper[i] = 0;
    bounds.lower[i] = 0;
    copyPoint(points, i, centroids, j);
  }
  return empty.length;
}

/** Moves each centroid to the mean of its points (every cluster holds at least one). */
function updateCentroids(
  { data, n, d }: PackedPoints,
  labels: Int32Array,
  k: number,
  centroids: Float64Array,
): void {
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const offset = labels[i] * d;
    counts[labels[i]]++;
    for (let c = 0; c < d; c++) sums[offset + c] += data[i * d + c];
  }
  for (let j = 0; j < k; j++) {
    for (let c = j * d, end = c + d; c < end; c++) centroids[c] = sums[c] / counts[j];
  }
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/**
 * Lloyd's algorithm from `centroids` (with Hamerly's bounds, which skip distances but not
 * outcomes): stops when no label changes (strict convergence) or the centroids move less than
 * `shiftTolerance` in total; the returned labels, centroids and inertia always agree.
 */
function lloyd(
  points: PackedPoints,
  pointNorms: Float64Array,
  centroids: Float64Array,
  k: number,
  maxIterations: number,
  shiftTolerance: number,
): Run {
  const { n, d } = points;
  const labels = new Int32Array(n).fill(-1);
  const bounds = createBounds(n, k);
  const previous = new Float64Array(k * d);
  measureCentroids(centroids, k, d, bounds);
  let iterations = 0;
  let converged = false;
  let labelsMatchCentroids = false;
  while (iterations < maxIterations) {
    iterations++;
    previous.set(centroids);
    const changed = assignPoints(points, pointNorms, centroids, k, labels, bounds) +
      relocateEmptyClusters(points, centroids, k, labels, bounds);
    if (changed === 0) {
      // The centroids are already the means of these very labels.
      converged = true;
      labelsMatchCentroids = true;
      break;
    }
    updateCentroids(points, labels, k, centroids);
    const shift = loosenBounds(previous, centroids, k, d, labels, bounds);
    if (shift <= shiftTolerance) {
      converged = true;
      break;
    }
  }
  if (!labelsMatchCentroids) {
    assignPoints(points, pointNorms, centroids, k, labels, bounds);
    if (relocateEmptyClusters(points, centroids, k, labels, bounds) > 0) {
      updateCentroids(points, labels, k, centroids);
    }
  }
  return {
    labels,
    centroids,
    inertia: sum(ownDistances(points, centroids, labels)),
    iterations,
    converged,
  };
}
