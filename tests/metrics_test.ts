import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  aupro,
  auroc,
  averagePrecision,
  evaluate,
  f1Max,
  MAD_COMPONENTS,
  METRIC_LABELS,
  METRIC_NAMES,
  pixelMetrics,
} from "../lib/metrics/mod.ts";
import { mulberry32 } from "../lib/util/random.ts";

const EPS = 1e-12;

// Hand derivation. Distinct thresholds, descending, with cumulative (tp, fp):
// 0.8 (1,0), 0.4 (1,1), 0.35 (2,1), 0.1 (2,2); two positives, two negatives.
// ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1): area .5*.5 + .5*1 = .75.
// AP: recall steps .5 at precision 1 and .5 at precision 2/3: .5 + 1/3 = 5/6.
// F1 = 2tp/(tp+fp+P): 2/3, 1/2, 4/5, 2/3 -> 4/5.
Deno.test("binary metrics: the scikit-learn documentation example", () => {
  const scores = [0.1, 0.4, 0.35, 0.8];
  const labels = [0, 0, 1, 1];
  assertAlmostEquals(auroc(scores, labels), 0.75, EPS);
  assertAlmostEquals(averagePrecision(scores, labels), 5 / 6, EPS);
  assertAlmostEquals(f1Max(scores, labels), 0.8, EPS);
});

// scores [.5,.5,.5,.9], labels [0,1,0,1]: thresholds .9 (tp 1, fp 0) and .5 (2, 2).
// ROC (0,0) (0,.5) (1,1): area (.5+1)/2 = .75. AP: .5*1 + .5*(2/4) = .75.
// F1: 2/(1+0+2) = 2/3 and 4/(2+2+2) = 2/3.
// With labels [1,1,0,0]: thresholds .9 (0,1), .5 (2,2): ROC (0,0) (.5,0) (1,1): area .25;
// AP: the only recall step is 1 at precision 2/4 = .5. F1 = max(0, 4/6).
// (scikit-learn 1.9.1 roc_auc_score / average_precision_score give the same.)
Deno.test("binary metrics: tied scores form one threshold", () => {
  const scores = [0.5, 0.5, 0.5, 0.9];
  assertAlmostEquals(auroc(scores, [0, 1, 0, 1]), 0.75, EPS);
  assertAlmostEquals(averagePrecision(scores, [0, 1, 0, 1]), 0.75, EPS);
  assertAlmostEquals(f1Max(scores, [0, 1, 0, 1]), 2 / 3, EPS);
  assertAlmostEquals(auroc(scores, [1, 1, 0, 0]), 0.25, EPS);
  assertAlmostEquals(averagePrecision(scores, [1, 1, 0, 0]), 0.5, EPS);
  assertAlmostEquals(f1Max(scores, [1, 1, 0, 0]), 2 / 3, EPS);
});

// Thresholds with cumulative (tp, fp): .9 (1,0) .8 (2,0) .7 (4,1) .6 (5,1) .4 (6,3) .3 (6,4)
// .2 (6,5) .1 (6,6); P = N = 6.
// Twice the ROC area in counts: sum of dfp*(tp+tp_prev) = 6 + 22 + 12 + 12 + 12 = 64 -> 64/72.
// AP = (1 + 1 + 2*(4/5) + 5/6 + 6/9) / 6 = 5.1 / 6 = .85.
// F1: 2/7, 4/8, 8/11, 10/12, 12/15, ... -> 5/6.
// scikit-learn 1.9.1: 0.888888888888889, 0.85, 0.8333333333333334.
Deno.test("binary metrics: a mixed case with several tie groups", () => {
  const scores = [0.2, 0.7, 0.7, 0.1, 0.9, 0.4, 0.4, 0.4, 0.6, 0.3, 0.8, 0.7];
  const labels = [0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1];
  assertAlmostEquals(auroc(scores, labels), 64 / 72, EPS);
  assertAlmostEquals(averagePrecision(scores, labels), 0.85, EPS);
  assertAlmostEquals(f1Max(scores, labels), 5 / 6, EPS);
  // The float32 (radix) path and the float64 path agree.
  const float32 = Float32Array.from(scores);
  const float64 = Float64Array.from(float32).map((value) => value + 1e-12);
  assertEquals(auroc(float32, labels), auroc(float64, labels));
  assertEquals(averagePrecision(float32, labels), averagePrecision(float64, labels));
});

Deno.test("binary metrics: constant scores", () => {
  const labels = [1, 0, 0, 1, 0, 0, 0, 1];
  const scores = labels.map(() => 0.3);
  // One threshold: ROC (0,0) -> (1,1), area 1/2; precision = 3/8 at recall 1.
  assertAlmostEquals(auroc(scores, labels), 0.5, EPS);
  assertAlmostEquals(averagePrecision(scores, labels), 3 / 8, EPS);
  // F1 = 2PR/(P+R) with P = 3/8, R = 1.
  assertAlmostEquals(f1Max(scores, labels), (2 * 3 / 8) / (3 / 8 + 1), EPS);
});

Deno.test("binary metrics: perfect separation gives 1, reversed gives AUROC 0", () => {
  const labels = [0, 0, 0, 1, 1];
  const scores = [0.1, 0.2, 0.3, 0.4, 0.5];
  assertEquals(auroc(scores, labels), 1);
  assertEquals(averagePrecision(scores, labels), 1);
  assertEquals(f1Max(scores, labels), 1);
  const reversed = scores.map((score) => -score);
  assertEquals(auroc(reversed, labels), 0);
  // Reversed, the positives come last: recall steps 1/2 at precision 1/4 and 2/5.
  assertAlmostEquals(averagePrecision(reversed, labels), (1 / 4 + 2 / 5) / 2, EPS);
});

Deno.test("binary metrics: AUROC equals the Mann-Whitney pair count with ties as halves", () => {
  const rng = mulberry32(11);
  const scores = Array.from({ length: 300 }, () => Math.floor(rng() * 12) / 12);
  const labels = scores.map((score) => (rng() < 0.3 + score / 2 ? 1 : 0));
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  assertAlmostEquals(auroc(scores, labels), wins / pairs, EPS);
});

Deno.test("binary metrics: invariant under strictly increasing transforms", () => {
  const rng = mulberry32(3);
  const scores = Array.from({ length: 500 }, () => Math.floor(rng() * 40) / 40 - 0.5);
  const labels = scores.map((score) => (rng() < 0.5 + score ? 1 : 0));
  const transforms = [(x: number) => Math.exp(5 * x), (x: number) => x * x * x + 7, Math.atan];
  for (const transform of transforms) {
    const mapped = scores.map(transform);
    assertAlmostEquals(auroc(mapped, labels), auroc(scores, labels), EPS);
    assertAlmostEquals(averagePrecision(mapped, labels), averagePrecision(scores, labels), EPS);
    assertAlmostEquals(f1Max(mapped, labels), f1Max(scores, labels), EPS);
  }
});

Deno.test("binary metrics: -0 and +0 are one threshold; infinities order", () => {
  // -0 (label 1) ties with +0 (label 0): one threshold, so AUROC is 1/2 of that pair.
  assertAlmostEquals(auroc([-0, 0], [1, 0]), 0.5, EPS);
  assertAlmostEquals(auroc(new Float32Array([-0, 0]), [1, 0]), 0.5, EPS);
  assertEquals(auroc([Infinity, -Infinity, 1e30], [1, 0, 0]), 1);
});

Deno.test("binary metrics: bad input throws a clear error", () => {
  assertThrows(() => auroc([0.1, 0.2], [0, 1, 1]), Error, "scores has 2 entries but labels has 3");
  assertThrows(() => auroc([0.1, NaN, 0.3], [0, 1, 1]), Error, "scores[1] is NaN");
  assertThrows(() => averagePrecision([0.1, 0.2], [0, 2]), Error, "labels[1] is 2");
  assertThrows(() => f1Max([0.1, 0.2], [0, 0.5]), Error, "labels must be 0 or 1");
  assertThrows(
    () => auroc([0.1, 0.2], [1, 1]),
    Error,
    "no negatives (label 0); AUROC is undefined",
  );
  assertThrows(() => averagePrecision([0.1, 0.2], [0, 0]), Error, "no positives (label 1)");
  assertThrows(() => f1Max([], []), Error, "empty");
});

/**
 * The 4x4 hand case. Mask (A = top-left pair, B = a diagonal pair joined by 8-connectivity):
 *   1 1 0 0        .9 .5 .7 .1
 *   0 0 0 0   map  .1 .1 .5 .1
 *   0 0 1 0        .1 .1 .8 .1
 *   0 0 0 1        .1 .1 .1 .6
 * A = {.9, .5}, B = {.8, .6}; 12 normal pixels: .7, .5 and ten .1.
 * Thresholds -> (FPR, PRO = mean of the two regions' overlaps):
 *   .9 -> (0, 1/4)   .8 -> (0, 1/2)   .7 -> (1/12, 1/2)   .6 -> (1/12, 3/4)
 *   .5 -> (2/12, 1)  (a normal and an anomalous pixel tie)   .1 -> (1, 1)
 * Area up to FPR .3: 1/12 * 1/2 + 1/12 * (3/4 + 1)/2 + (.3 - 2/12) * 1 = 119/480;
 *   AUPRO = 119/480 / .3 = 119/144.
 * Up to FPR 1: 1/24 + 7/96 + 5/6 = 91/96.
 * Up to FPR .125 (half-way along the tied segment, where PRO = 7/8):
 *   1/24 + (1/24) * (3/4 + 7/8)/2 = 29/384; AUPRO = 29/384 / .125 = 29/48.
 * With 4-connectivity B would be two regions and the curve would differ.
 */
function handCase(): { maps: Float32Array[]; masks: Uint8Array[] } {
  const map = new Float32Array([
    ...[0.9, 0.5, 0.7, 0.1],
    ...[0.1, 0.1, 0.5, 0.1],
    ...[0.1, 0.1, 0.8, 0.1],
    ...[0.1, 0.1, 0.1, 0.6],
  ]);
  const mask = new Uint8Array([
    ...[1, 1, 0, 0],
    ...[0, 0, 0, 0],
    ...[0, 0, 1, 0],
    ...[0, 0, 0, 1],
  ]);
  return { maps: [map], masks: [mask] };
}

Deno.test("aupro: the 4x4 hand case with two regions", () => {
  const { maps, masks } = handCase();
  assertAlmostEquals(aupro(maps, masks, [4, 4]), 119 / 144, EPS);
  assertAlmostEquals(aupro(maps, masks, [4, 4], 0.3), 119 / 144, EPS);
});

Deno.test("aupro: fprLimit cuts the curve with linear interpolation", () => {
  const { maps, masks } = handCase();
  assertAlmostEquals(aupro(maps, masks, [4, 4], 1), 91 / 96, EPS);
  assertAlmostEquals(aupro(maps, masks, [4, 4], 0.125), 29 / 48, EPS);
  // Exactly at a curve point (FPR 2/12): area 1/24 + 7/96 = 11/96.
  assertAlmostEquals(aupro(maps, masks, [4, 4], 2 / 12), (11 / 96) / (2 / 12), EPS);
  assertThrows(() => aupro(maps, masks, [4, 4], 0), Error, "fprLimit must be in (0, 1]");
  assertThrows(() => aupro(maps, masks, [4, 4], 1.5), Error, "fprLimit must be in (0, 1]");
});

Deno.test("aupro: a normal image adds normal pixels only", () => {
  const { maps, masks } = handCase();
  // A second, normal image of 16 pixels all scoring .05, below every pixel of the first: 28
  // normal pixels in all, so the FPR of each point before the last threshold scales by 12/28.
  // Points: (0,1/4) (0,1/2) (1/28,1/2) (1/28,3/4) (2/28,1) (12/28,1) (1,1).
  // Area to .3: 1/28 * 1/2 + 1/28 * (3/4 + 1)/2 + (.3 - 2/28) * 1 = 11/224 + .3 - 16/224.
  const normalMap = new Float32Array(16).fill(0.05);
  const result = aupro([...maps, normalMap], [...masks, new Uint8Array(16)], [4, 4]);
  assertAlmostEquals(result, (0.3 - 5 / 224) / 0.3, EPS);
});

Deno.test("pixel metrics of the hand case", () => {
  const { maps, masks } = handCase();
  const { metrics, undefinedReason } = pixelMetrics(maps, masks, [4, 4]);
  assertEquals(undefinedReason, undefined);
  // 4 anomalous x 12 normal pairs: .9 and .8 beat all 12, .6 beats 11, .5 beats 10 and ties 1.
  assertAlmostEquals(metrics.pAuroc, (12 + 12 + 11 + 10.5) / 48, EPS);
  // Thresholds (tp, fp): .9 (1,0) .8 (2,0) .7 (2,1) .6 (3,1) .5 (4,2) .1 (4,12).
  // AP = (1 + 1 + 3/4 + 4/6) / 4; F1 = 2tp/(tp+fp+4): best 8/10 at .5.
  assertAlmostEquals(metrics.pAp, (1 + 1 + 3 / 4 + 4 / 6) / 4, EPS);
  assertAlmostEquals(metrics.pF1Max, 0.8, EPS);
  assertAlmostEquals(metrics.aupro, 119 / 144, EPS);
});

function blobbyMaps(seed: number, count: number, height: number, width: number) {
  const rng = mulberry32(seed);
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const map = new Float32Array(height * width);
    const mask = new Uint8Array(height * width);
    const blobs = i % 3 === 0 ? 0 : 1 + Math.floor(rng() * 3);
    const centres = Array.from(
      { length: blobs },
      () => [rng() * height, rng() * width, 1 + rng() * 3],
    );
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const inside = centres.some(([cr, cc, radius]) =>
          (r - cr) ** 2 + (c - cc) ** 2 < radius ** 2
        );
        mask[r * width + c] = inside ? 1 : 0;
        // Coarse levels make many ties between normal and anomalous pixels.
        map[r * width + c] = Math.floor((rng() + (inside ? 0.4 : 0)) * 16) / 16;
      }
    }
    maps.push(map);
    masks.push(mask);
  }
  return { maps, masks };
}

Deno.test("aupro and pixel metrics: invariant under strictly increasing transforms", () => {
  const { maps, masks } = blobbyMaps(5, 9, 16, 20);
  const transformed = maps.map((map) => map.map((x) => Math.exp(3 * x) - 10));
  const before = pixelMetrics(maps, masks, [16, 20]).metrics;
  const after = pixelMetrics(transformed, masks, [16, 20]).metrics;
  for (const name of ["pAuroc", "pAp", "pF1Max", "aupro"] as const) {
    assertAlmostEquals(after[name], before[name], EPS, name);
  }
  assert(before.aupro > 0 && before.aupro < 1);
  for (const limit of [0.01, 0.3, 1]) {
    assertAlmostEquals(
      aupro(transformed, masks, [16, 20], limit),
      aupro(maps, masks, [16, 20], limit),
      EPS,
    );
  }
});

Deno.test("aupro: perfect maps give 1, and pixel metrics match the binary functions", () => {
  const { maps, masks } = blobbyMaps(8, 6, 12, 12);
  const perfect = masks.map((mask) => Float32Array.from(mask, (m) => m * 2 + 0.5));
  assertEquals(aupro(perfect, masks, [12, 12]), 1);
  const pooledScores = new Float32Array(maps.length * 144);
  const pooledLabels = new Uint8Array(maps.length * 144);
  maps.forEach((map, i) => pooledScores.set(map, i * 144));
  masks.forEach((mask, i) => pooledLabels.set(mask, i * 144));
  const { metrics } = pixelMetrics(maps, masks, [12, 12]);
  assertAlmostEquals(metrics.pAuroc, auroc(pooledScores, pooledLabels), EPS);
  assertAlmostEquals(metrics.pAp, averagePrecision(pooledScores, pooledLabels), EPS);
  assertAlmostEquals(metrics.pF1Max, f1Max(pooledScores, pooledLabels), EPS);
});

Deno.test("aupro: matches a per-threshold brute force", () => {
  const shape: [number, number] = [10, 11];
  const { maps, masks } = blobbyMaps(21, 5, ...shape);
  for (const limit of [0.3, 0.05, 1]) {
    assertAlmostEquals(
      aupro(maps, masks, shape, limit),
      bruteForceAupro(maps, masks, shape, limit),
      1e-12,
    );
  }
});

/** The definition applied literally: at each threshold a full pass over every pixel. */
function bruteForceAupro(
  maps: Float32Array[],
  masks: Uint8Array[],
  [height, width]: [number, number],
  limit: number,
): number {
  const regions: number[][][] = []; // per region, [image, pixel] pairs
  for (let i = 0; i < masks.length; i++) {
    const seen = new Set<number>();
    for (let p = 0; p < height * width; p++) {
      if (masks[i][p] === 0 || seen.has(p)) continue;
      const region: number[][] = [];
      const queue = [p];
      seen.add(p);
      while (queue.length > 0) {
        const q = queue.pop()!;
        region.push([i, q]);
        const [r, c] = [Math.floor(q / width), q % width];
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            const [rr, cc] = [r + dr, c + dc];
            const n = rr * width + cc;
            if (rr < 0 || rr >= height || cc < 0 || cc >= width || seen.has(n) || !masks[i][n]) {
              continue;
            }
            seen.add(n);
            queue.push(n);
          }
        }
      }
      regions.push(region);
    }
  }
  const thresholds = [...new Set(maps.flatMap((map) => [...map]))].sort((a, b) => b - a);
  const normalTotal = masks.reduce((sum, mask) => sum + mask.filter((m) => m === 0).length, 0);
  const points = [[0, 0]];
  for (const t of thresholds) {
    let falsePositives = 0;
    maps.forEach((map, i) =>
      map.forEach((v, p) => (falsePositives += masks[i][p] === 0 && v >= t ? 1 : 0))
    );
    const overlaps = regions.map((region) =>
      region.filter(([i, p]) => maps[i][p] >= t).length / region.length
    );
    points.push([
      falsePositives / normalTotal,
      overlaps.reduce((a, b) => a + b, 0) / overlaps.length,
    ]);
  }
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const [f0, p0] = points[k - 1];
    const [f1, p1] = points[k];
    if (f1 > limit) {
      area += (limit - f0) * (p0 + p0 + (p1 - p0) * (limit - f0) / (f1 - f0)) / 2;
      break;
    }
    area += (f1 - f0) * (p0 + p1) / 2;
  }
  return area / limit;
}

Deno.test("aupro: bad input throws a clear error", () => {
  const { maps, masks } = handCase();
  assertThrows(() => aupro(maps, [], [4, 4]), Error, "1 maps but 0 masks");
  assertThrows(
    () => aupro(maps, masks, [4, 5]),
    Error,
    "maps[0] has 16 pixels but shape [4, 5] needs 20",
  );
  assertThrows(() => aupro(maps, masks, [4, 0]), Error, "shape must be [height, width]");
  const badMask = masks[0].slice();
  badMask[6] = 255;
  assertThrows(
    () => aupro(maps, [badMask], [4, 4]),
    Error,
    "masks[0] is 255 at pixel 6 (row 1, column 2)",
  );
  const nanMap = maps[0].slice();
  nanMap[13] = NaN;
  assertThrows(
    () => aupro([nanMap], masks, [4, 4]),
    Error,
    "maps[0] is NaN at pixel 13 (row 3, column 1)",
  );
  assertThrows(() => aupro(maps, [new Uint8Array(16)], [4, 4]), Error, "no anomalous pixel");
  const float64Map = Float64Array.from(maps[0]) as unknown as Float32Array;
  assertThrows(() => aupro([float64Map], masks, [4, 4]), Error, "maps[0] is not a Float32Array");
  const arrayMask = Array.from(masks[0]) as unknown as Uint8Array;
  assertThrows(() => aupro(maps, [arrayMask], [4, 4]), Error, "masks[0] is not a Uint8Array");
  assertThrows(() => aupro(maps, [new Uint8Array(16).fill(1)], [4, 4]), Error, "no normal pixel");
});

/**
 * Two classes, 2x2 maps. Class "a": normal scores .1 .2, anomalous .3 .4; class "b": normal .5 .6,
 * anomalous .7 .8. Within each class the image scores separate perfectly (I-AUROC 1), but pooled
 * over classes the "a" anomalies (.3, .4) score below the "b" normals: pooled AUROC
 * = (2 + 2 + 4 + 4) / 16 = .75. The protocol's mean of per-class values is 1.
 */
function twoClassToySet() {
  const scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
  const classNames = ["a", "a", "a", "a", "b", "b", "b", "b"];
  const empty = () => new Uint8Array(4);
  const masks = [empty(), empty(), new Uint8Array([1, 0, 0, 0]), new Uint8Array([0, 1, 1, 0])];
  masks.push(empty(), empty(), new Uint8Array([0, 0, 0, 1]), new Uint8Array([1, 1, 0, 0]));
  // Anomalous pixels score the image score plus .5, normal pixels the image score: within a
  // class they separate perfectly, but pooled, the anomalous pixels of "a" (.8, .9) no longer
  // outscore every normal pixel (those of image 7 of "b" score .8).
  const maps = masks.map((mask, i) => Float32Array.from(mask, (m) => scores[i] + 0.5 * m));
  return { scores, classNames, masks, maps, shape: [2, 2] as [number, number] };
}

Deno.test("evaluate: per-class values and their mean, not pooled", () => {
  const input = twoClassToySet();
  const result = evaluate(input);
  assertEquals(result.classes, ["a", "b"]);
  assertEquals(result.notes, []);
  for (const className of ["a", "b"]) {
    for (const name of METRIC_NAMES) {
      assertAlmostEquals(result.perClass[className][name], 1, EPS, `${className} ${name}`);
    }
  }
  assertEquals(result.mean.iAuroc, 1);
  // Pooled over classes the same numbers are worse: the protocol must not pool.
  const imageLabels = input.masks.map((mask) => (mask.some((m) => m === 1) ? 1 : 0));
  assertAlmostEquals(auroc(input.scores, imageLabels), 0.75, EPS);
  const pooled = pixelMetrics(input.maps, input.masks, input.shape).metrics;
  assert(pooled.pAuroc < 1 && pooled.aupro < 1, "pooled pixel metrics are below 1");
  assert(auroc(input.scores, imageLabels) < result.mean.iAuroc);
});

Deno.test("evaluate: mean of per-class values with imperfect classes", () => {
  const input = twoClassToySet();
  // Swap the scores of a normal and an anomalous image of class "b": I-AUROC of b becomes
  // 3/4 (one of four pairs reversed); class "a" stays 1.
  input.scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.6, 0.8];
  const result = evaluate(input);
  assertAlmostEquals(result.perClass.b.iAuroc, 0.75, EPS);
  assertAlmostEquals(result.mean.iAuroc, (1 + 0.75) / 2, EPS);
  for (const name of METRIC_NAMES) {
    const perClassMean = (result.perClass.a[name] + result.perClass.b[name]) / 2;
    assertAlmostEquals(result.mean[name], perClassMean, EPS, name);
  }
  for (const className of result.classes) {
    const set = result.perClass[className];
    const mad = MAD_COMPONENTS.reduce((sum, name) => sum + set[name], 0) / 7;
    assertAlmostEquals(set.mAD, mad, EPS);
  }
});

Deno.test("evaluate: a class without anomalies gives NaN with notes, never a number", () => {
  const input = twoClassToySet();
  const only = [0, 1, 4, 5, 6, 7]; // class "a" keeps its normal images only
  const result = evaluate({
    scores: only.map((i) => input.scores[i]),
    maps: only.map((i) => input.maps[i]),
    masks: only.map((i) => input.masks[i]),
    classNames: only.map((i) => input.classNames[i]),
    shape: input.shape,
  });
  for (const name of METRIC_NAMES) {
    assert(Number.isNaN(result.perClass.a[name]), `a ${name} is NaN`);
    assert(Number.isNaN(result.mean[name]), `mean ${name} is NaN`);
    assert(!Number.isNaN(result.perClass.b[name]), `b ${name} is defined`);
  }
  assert(
    result.notes.some((note) =>
      note.includes('class "a"') && note.includes("no anomalous test images")
    ),
  );
  assert(
    result.notes.some((note) => note.includes('class "a"') && note.includes("no anomalous pixel")),
  );
  assert(
    result.notes.some((note) => note.startsWith("mean I-AUROC is NaN") && note.includes('"a"')),
  );
});

Deno.test("evaluate: explicit labels are checked against the masks", () => {
  const input = twoClassToySet();
  const labels = [0, 0, 1, 1, 0, 0, 1, 1];
  assertEquals(evaluate({ ...input, labels }).mean, evaluate(input).mean);
  // An anomalous image with an empty mask is allowed (and noted); a normal one with a mask is not.
  const noted = evaluate({ ...input, labels: [0, 1, 1, 1, 0, 0, 1, 1] });
  assert(noted.notes.some((note) => note.includes("empty mask") && note.includes("images 1")));
  assertThrows(
    () => evaluate({ ...input, labels: [0, 0, 0, 1, 0, 0, 1, 1] }),
    Error,
    'image 2 ("a") has label 0 but its mask marks 1 anomalous pixels',
  );
});

Deno.test("evaluate: bad input throws a clear error", () => {
  const input = twoClassToySet();
  assertThrows(() => evaluate({ ...input, classNames: ["a"] }), Error, "classNames has 1");
  assertThrows(
    () => evaluate({ ...input, scores: [...input.scores.slice(0, 7), NaN] }),
    Error,
    "scores[7] is NaN",
  );
  assertThrows(
    () => evaluate({ ...input, labels: [0, 0, 1, 1, 0, 0, 1, 3] }),
    Error,
    "labels[7] is 3",
  );
  assertThrows(() => evaluate({ ...input, shape: [2, 3] }), Error, "masks[0] has 4 pixels");
  const maps = input.maps.slice();
  maps[5] = new Float32Array([0, 0, NaN, 0]);
  assertThrows(
    () => evaluate({ ...input, maps }),
    Error,
    "maps[5] is NaN at pixel 2 (row 1, column 0)",
  );
  assertThrows(() => evaluate({ ...input, fprLimit: -1 }), Error, "fprLimit");
  assertThrows(
    () => evaluate({ scores: [], maps: [], masks: [], classNames: [], shape: [2, 2] }),
    Error,
    "no test images",
  );
});

Deno.test("metric names: ordered list, labels and the mAD components", () => {
  assertEquals(METRIC_NAMES.map((name) => METRIC_LABELS[name]), [
    "I-AUROC",
    "I-AP",
    "I-F1max",
    "P-AUROC",
    "P-AP",
    "P-F1max",
    "AUPRO",
    "mAD",
  ]);
  assertEquals(MAD_COMPONENTS.length, 7);
  assert(!MAD_COMPONENTS.includes("mAD"));
});
