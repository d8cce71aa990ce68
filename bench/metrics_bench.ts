/**
 * Benchmarks of the metrics on realistic sizes: AUROC / AP on 1e6 pixel scores, and AUPRO (and
 * all pixel metrics) over 100 maps of 256x256 with seeded blobby masks.
 *
 * Run: deno bench -A bench/metrics_bench.ts
 */

import { aupro, auroc, averagePrecision, f1Max, pixelMetrics } from "../lib/metrics/mod.ts";
import { mulberry32 } from "../lib/util/random.ts";

const PIXELS = 1_000_000;
const MAPS = 100;
const SIDE = 256;

function pixelScores(seed: number): { scores: Float32Array; labels: Uint8Array } {
  const rng = mulberry32(seed);
  const scores = new Float32Array(PIXELS);
  const labels = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) {
    labels[i] = rng() < 0.05 ? 1 : 0;
    scores[i] = rng() + labels[i] * 0.5 * rng();
  }
  return { scores, labels };
}

/**
 * Anomaly maps and masks like a model's on a defect test set: two thirds of the images carry 1-4
 * elliptical defects; maps are smooth background noise plus a bump over each defect.
 */
function blobbyMapsAndMasks(seed: number): { maps: Float32Array[]; masks: Uint8Array[] } {
  const rng = mulberry32(seed);
  const maps: Float32Array[] = [];
  const masks: Uint8Array[] = [];
  for (let i = 0; i < MAPS; i++) {
    const map = new Float32Array(SIDE * SIDE);
    const mask = new Uint8Array(SIDE * SIDE);
    const blobs = i % 3 === 0 ? 0 : 1 + Math.floor(rng() * 4);
    const phase = [rng() * 6, rng() * 6];
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        map[r * SIDE + c] = 0.2 + 0.1 * Math.sin(r / 17 + phase[0]) * Math.cos(c / 23 + phase[1]) +
          0.1 * rng();
      }
    }
    for (let b = 0; b < blobs; b++) {
      const [cr, cc] = [rng() * SIDE, rng() * SIDE];
      const [ry, rx] = [3 + rng() * 25, 3 + rng() * 25];
      const strength = 0.1 + 0.4 * rng();
      for (let r = Math.max(0, Math.floor(cr - ry)); r < Math.min(SIDE, cr + ry); r++) {
        for (let c = Math.max(0, Math.floor(cc - rx)); c < Math.min(SIDE, cc + rx); c++) {
          const d = ((r - cr) / ry) ** 2 + ((c - cc) / rx) ** 2;
          if (d < 1) {
            mask[r * SIDE + c] = 1;
            map[r * SIDE + c] += strength * (1 - d);
          }
        }
      }
    }
    maps.push(map);
    masks.push(mask);
  }
  return { maps, masks };
}

const pixels = pixelScores(1);
const pixels64 = Float64Array.from(pixels.scores, (score) => score + 1e-9);
const { maps, masks } = blobbyMapsAndMasks(2);

Deno.bench("auroc, 1e6 float32 scores", { group: "1e6 scores" }, () => {
  auroc(pixels.scores, pixels.labels);
});
Deno.bench("averagePrecision, 1e6 float32 scores", { group: "1e6 scores" }, () => {
  averagePrecision(pixels.scores, pixels.labels);
});
Deno.bench("f1Max, 1e6 float32 scores", { group: "1e6 scores" }, () => {
  f1Max(pixels.scores, pixels.labels);
});
Deno.bench("auroc, 1e6 float64 scores (native sort path)", { group: "1e6 scores" }, () => {
  auroc(pixels64, pixels.labels);
});

Deno.bench("aupro, 100 maps 256x256", { group: "100 maps 256x256" }, () => {
  aupro(maps, masks, [SIDE, SIDE]);
});
Deno.bench("pixelMetrics (P-AUROC, P-AP, P-F1max, AUPRO)", { group: "100 maps 256x256" }, () => {
  pixelMetrics(maps, masks, [SIDE, SIDE]);
});
Deno.bench("reference: Float32Array.prototype.sort of all pixels", {
  group: "100 maps 256x256",
}, () => {
  const all = new Float32Array(MAPS * SIDE * SIDE);
  maps.forEach((map, i) => all.set(map, i * SIDE * SIDE));
  all.sort();
});
