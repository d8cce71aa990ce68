/**
 * Curve charts: image-level ROC and precision-recall curves per class (strategies overlaid) and
 * training-loss curves from a run's `log.jsonl`.
 * @module
 */
import { type ChartTitle, finishSpec } from "./palette.ts";
import type { VegaLiteSpec } from "./render.ts";

/** What a curve needs of one test image (as in a run's `predictions.json`). */
export interface ScoredImage {
  className: string;
  /** 1 anomalous, 0 normal. */
  label: number;
  score: number;
}

/** A point of a ROC or PR curve. */
export interface CurvePoint {
  x: number;
  y: number;
}

/**
 * ROC and PR points of scores against 0/1 labels, one point per distinct threshold (ties share
 * one), from the highest threshold down; ROC starts at (0, 0).
 *
 * @example
 * ```ts
 * import { rocAndPr } from "./curves.ts";
 * const { roc } = rocAndPr([0.9, 0.1, 0.8, 0.3], [1, 0, 1, 0]);
 * // roc: (0,0) (0,0.5) (0,1) (0.5,1) (1,1)
 * ```
 */
export function rocAndPr(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): { roc: CurvePoint[]; pr: CurvePoint[] } {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`rocAndPr: ${n} scores, ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new RangeError(
      `rocAndPr: needs normal and anomalous images, got ${positives} anomalous of ${n}`,
    );
  }
  const roc: CurvePoint[] = [{ x: 0, y: 0 }];
  const pr: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (labels[i] === 1) tp++;
    else fp++;
    if (k + 1 < n && scores[order[k + 1]] === scores[i]) continue;
    roc.push({ x: fp / negatives, y: tp / positives });
    pr.push({ x: tp / positives, y: tp / (tp + fp) });
  }
  return { roc, pr };
}

/**
 * ROC (or PR) curves per class, one panel per class, strategies overlaid.
 *
 * @example
 * ```ts
 * import { curvesChart } from "./curves.ts";
 * const images = [
 *   { className: "a", label: 1, score: 0.9 }, { className: "a", label: 0, score: 0.2 },
 * ];
 * const spec = curvesChart([{ strategy: "joint", images }], "roc");
 * ```
 */
export function curvesChart(
  runs: ReadonlyArray<{ strategy: string; images: readonly ScoredImage[] }>,
  kind: "roc" | "pr",
  options: { title?: ChartTitle; columns?: number } = {},
): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  for (const { strategy, images } of runs) {
    const classes = [...new Set(images.map((i) => i.className))].sort();
    for (const className of classes) {
      const mine = images.filter((i) => i.className === className);
      const curves = rocAndPr(mine.map((i) => i.score), mine.map((i) => i.label));
      curves[kind].forEach((p, order) => values.push({ className, strategy, order, ...p }));
    }
  }
  const strategies = runs.map((r) => r.strategy);
  const roc = kind === "roc";
  return finishSpec({
    title: options.title ??
      (roc ? "Image-level ROC per class" : "Image-level precision-recall per class"),
    data: { values },
    facet: { field: "className", type: "nominal", title: null },
    columns: options.columns ?? 4,
    spec: {
      width: 150,
      height: 150,
      mark: { type: "line", interpolate: roc ? "step-after" : "linear", strokeWidth: 1.5 },
      encoding: {
        x: {
          field: "x",
          type: "quantitative",
          title: roc ? "false positive rate" : "recall",
          scale: { domain: [0, 1] },
          axis: { values: [0, 0.25, 0.5, 0.75, 1], format: ".2~f" },
        },
        y: {
          field: "y",
          type: "quantitative",
          title: roc ? "true positive rate" : "precision",
          scale: { domain: [0, 1] },
        },
        color: {
          field: "strategy",
          type: "nominal",
          sort: strategies,
          scale: { scheme: "tableau10" },
        },
        order: { field: "order", type: "quantitative" },
      },
    },
  });
}

/** One line of a run's `log.jsonl`. */
export interface LogEntry {
  unit: string;
  epoch: number;
  losses: Record<string, number>;
}

/** Parses `log.jsonl` text; a bad line is an error naming `source` and the line. */
export function parseLog(text: string, source: string): LogEntry[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line, i) => {
    let entry: LogEntry;
    try {
      entry = JSON.parse(line);
    } catch (error) {
      throw new SyntaxError(`${source}:${i + 1}: not JSON (${(error as Error).message})`);
    }
    if (
      typeof entry?.unit !== "string" || typeof entry.epoch !== "number" ||
      typeof entry.losses !== "object" || entry.losses === null
    ) {
      throw new TypeError(`${source}:${i + 1}: expected {unit, epoch, losses}`);
    }
    return entry;
  });
}

/**
 * Training-loss curves: per run (panel) each loss term against the epoch, averaged over the
 * run's units (one per class for one-for-one runs), log-scaled.
 *
 * @example
 * ```ts
 * import { lossChart } from "./curves.ts";
 * const spec = lossChart([{
 *   strategy: "joint",
 *   log: [{ unit: "joint", epoch: 1, losses: { rd: 0.8, total: 0.8 } }],
 * }]);
 * ```
 */
export function lossChart(
  runs: ReadonlyArray<{ strategy: string; log: readonly LogEntry[] }>,
  options: { title?: string } = {},
): VegaLiteSpec {
  const values: Array<Record<string, unknown>> = [];
  for (const { strategy, log } of runs) {
    const sums = new Map<string, { sum: number; n: number }>();
    for (const entry of log) {
      for (const [term, value] of Object.entries(entry.losses)) {
        if (!Number.isFinite(value)) continue;
        const key = `${entry.epoch}\u0000${term}`;
        const acc = sums.get(key) ?? { sum: 0, n: 0 };
        acc.sum += value;
        acc.n++;
        sums.set(key, acc);
      }
    }
    for (const [key, { sum, n }] of sums) {
      const [epoch, term] = key.split("\u0000");
      values.push({ strategy, epoch: Number(epoch), term, loss: sum / n });
    }
  }
  return finishSpec({
    title: options.title ?? "Training loss per epoch (mean over units)",
    data: { values },
    facet: {
      column: {
        field: "strategy",
        type: "nominal",
        sort: runs.map((r) => r.strategy),
        title: null,
      },
    },
    spec: {
      width: 220,
      height: 180,
      mark: { type: "line", point: { size: 15 } },
      encoding: {
        x: { field: "epoch", type: "quantitative", title: "epoch" },
        y: {
          field: "loss",
          type: "quantitative",
          title: "loss",
          scale: { type: values.every((v) => (v.loss as number) > 0) ? "log" : "linear" },
        },
        color: {
          field: "term",
          type: "nominal",
          title: "loss term",
          scale: { scheme: "tableau10" },
        },
      },
    },
    resolve: { scale: { y: "independent" } },
  });
}
