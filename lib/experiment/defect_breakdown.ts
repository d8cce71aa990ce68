/**
 * Image-level detection per defect type: for each class and defect, I-AUROC of that defect's
 * images against the class's normal test images. It shows which anomalies a model misses,
 * e.g. patches of another class's normal look (the case inter-class confusion hides).
 * @module
 */
import { relative } from "@std/path";
import { auroc } from "../metrics/roc.ts";
import type { ScoredRecords } from "./predict.ts";

/** I-AUROC and image count of each defect type, per class. */
export type DefectBreakdown = Record<string, Record<string, { iAuroc: number; images: number }>>;

/** One line per test image: what `predictions.json` holds. */
export interface ImagePrediction {
  image: string;
  className: string;
  defect: string;
  label: 0 | 1;
  score: number;
}

/** Flattens the units' predictions to one record per test image, paths relative to `root`. */
export function imagePredictions(
  predictions: readonly ScoredRecords[],
  root: string,
): ImagePrediction[] {
  return predictions.flatMap((p) =>
    p.records.map((record, i) => ({
      image: relative(root, record.imagePath),
      className: record.className,
      defect: record.defect,
      label: record.label,
      score: p.scores[i],
    }))
  );
}

/** I-AUROC of each (class, defect) against the class's normal images; NaN without normals. */
export function defectBreakdown(images: readonly ImagePrediction[]): DefectBreakdown {
  const result: DefectBreakdown = {};
  const classes = [...new Set(images.map((p) => p.className))].sort();
  for (const className of classes) {
    const ofClass = images.filter((p) => p.className === className);
    const normal = ofClass.filter((p) => p.label === 0).map((p) => p.score);
    const defects = [...new Set(ofClass.filter((p) => p.label === 1).map((p) => p.defect))].sort();
    result[className] = {};
    for (const defect of defects) {
      const bad = ofClass.filter((p) => p.label === 1 && p.defect === defect).map((p) => p.score);
      const value = normal.length === 0
        ? NaN
        : auroc([...normal, ...bad], [...normal.map(() => 0), ...bad.map(() => 1)]);
      result[className][defect] = { iAuroc: value, images: bad.length };
    }
  }
  return result;
}

/** Mean over classes of each defect type's I-AUROC (classes without that defect left out). */
export function meanByDefect(breakdown: DefectBreakdown): Record<string, number> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const defects of Object.values(breakdown)) {
    for (const [defect, { iAuroc }] of Object.entries(defects)) {
      if (!Number.isFinite(iAuroc)) continue;
      const entry = sums.get(defect) ?? { sum: 0, count: 0 };
      entry.sum += iAuroc;
      entry.count++;
      sums.set(defect, entry);
    }
  }
  return Object.fromEntries(
    [...sums].sort(([a], [b]) => a < b ? -1 : 1).map(([d, { sum, count }]) => [d, sum / count]),
  );
}
