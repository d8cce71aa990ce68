/**
 * The evaluation protocol of the paper and the ADer benchmark: every metric per class, then the
 * mean over classes (not pooled over classes), and mAD.
 * @module
 */

import { averagePrecisionFromCurve } from "./average_precision.ts";
import { f1MaxFromCurve } from "./f1_max.ts";
import { MAD_COMPONENTS, METRIC_LABELS, METRIC_NAMES, type MetricSet } from "./metric_names.ts";
import { pixelMetrics } from "./pixel_metrics.ts";
import { countBinaryOnes } from "./pixel_pool.ts";
import { aurocFromCurve } from "./roc.ts";
import { binaryCurve } from "./threshold_curve.ts";
import { checkBinaryLabels, checkFprLimit, checkShape } from "./validate.ts";

/** The predictions and ground truth of a test set; entry i of every list is test image i. */
export interface EvaluationInput {
  /** Image anomaly scores (higher = more anomalous). */
  scores: ArrayLike<number>;
  /** Anomaly maps, row-major `height * width` (higher = more anomalous). */
  maps: readonly Float32Array[];
  /** Ground-truth masks, 0/1, `height * width`; all zeros for normal images. */
  masks: readonly Uint8Array[];
  /** The class of each image; metrics are computed per class. */
  classNames: readonly string[];
  /** [height, width] of every map and mask. */
  shape: readonly [height: number, width: number];
  /**
   * Image labels (0 normal, 1 anomalous). Default: 1 where the mask has an anomalous pixel.
   * A label 0 with a non-empty mask is an error; a label 1 with an empty mask is noted.
   */
  labels?: ArrayLike<number>;
  /** FPR limit of AUPRO, in (0, 1]. Default 0.3. */
  fprLimit?: number;
}

/** Metrics per class and their mean over classes. */
export interface EvaluationResult {
  /** Class names in order of first appearance in the input. */
  classes: string[];
  /** Every metric of each class; NaN where undefined for that class (see `notes`). */
  perClass: Record<string, MetricSet>;
  /** Mean over classes of the per-class values; NaN when any class is NaN (see `notes`). */
  mean: MetricSet;
  /** Why a value is NaN, and anything else a reader of the numbers must know. */
  notes: string[];
}

/**
 * Evaluates a test set class by class: I-AUROC, I-AP, I-F1max on image scores; P-AUROC, P-AP,
 * P-F1max on all pixels of the class's images; AUPRO up to `fprLimit`; mAD = mean of those
 * seven. `mean` is the mean of the per-class values. A metric that is undefined for a class (no
 * anomalous or no normal images, no anomalous pixels) is NaN there and in `mean`, with a note;
 * a made-up number is never returned. Throws on inconsistent or invalid input.
 *
 * @example
 * ```ts
 * import { evaluate } from "./evaluate.ts";
 * const result = evaluate({
 *   scores: [0.2, 0.9],
 *   maps: [new Float32Array([0.1, 0.2, 0.1, 0.1]), new Float32Array([0.1, 0.9, 0.1, 0.1])],
 *   masks: [new Uint8Array([0, 0, 0, 0]), new Uint8Array([0, 1, 0, 0])],
 *   classNames: ["bottle", "bottle"],
 *   shape: [2, 2],
 * });
 * result.mean.mAD; // 1
 * ```
 */
export function evaluate(input: EvaluationInput): EvaluationResult {
  const { scores, maps, masks, classNames, shape, fprLimit = 0.3 } = input;
  const pixels = checkShape(shape, "evaluate");
  checkFprLimit(fprLimit, "evaluate");
  const count = checkSameLength(input);
  const notes: string[] = [];
  const labels = imageLabels(input, pixels, notes);
  const classes = classOrder(classNames);
  const perClass: Record<string, MetricSet> = {};
  for (const className of classes) {
    const indices: number[] = [];
    for (let i = 0; i < count; i++) if (classNames[i] === className) indices.push(i);
    perClass[className] = classMetrics(
      className,
      indices.map((i) => scores[i]),
      indices.map((i) => labels[i]),
      indices.map((i) => maps[i]),
      indices.map((i) => masks[i]),
      { shape, fprLimit, imageIndices: indices },
      notes,
    );
  }
  return { classes, perClass, mean: meanOverClasses(classes, perClass, notes), notes };
}

/** The test set of one class: what {@linkcode evaluateClass} needs. */
export type ClassEvaluationInput = Omit<EvaluationInput, "classNames"> & { className: string };

/** The metrics of one class and the notes about them. */
export interface ClassEvaluation {
  className: string;
  metrics: MetricSet;
  notes: string[];
}

/**
 * The metrics of one class's test set, exactly as {@linkcode evaluate} computes them for that
 * class; with {@linkcode combineClassEvaluations} a test set can be evaluated class by class, so
 * only one class's maps need to be in memory at a time.
 *
 * @example
 * ```ts
 * import { combineClassEvaluations, evaluateClass } from "./evaluate.ts";
 * const bottle = evaluateClass({
 *   className: "bottle",
 *   scores: [0.2, 0.9],
 *   maps: [new Float32Array([0.1, 0.2, 0.1, 0.1]), new Float32Array([0.1, 0.9, 0.1, 0.1])],
 *   masks: [new Uint8Array([0, 0, 0, 0]), new Uint8Array([0, 1, 0, 0])],
 *   shape: [2, 2],
 * });
 * combineClassEvaluations([bottle]).mean.mAD; // 1
 * ```
 */
export function evaluateClass(input: ClassEvaluationInput): ClassEvaluation {
  const { className, shape, fprLimit = 0.3 } = input;
  const where = `evaluate (class "${className}")`;
  const pixels = checkShape(shape, where);
  checkFprLimit(fprLimit, where);
  const classNames = Array.from({ length: input.scores.length }, () => className);
  const count = checkSameLength({ ...input, classNames });
  const notes: string[] = [];
  const labels = imageLabels({ ...input, classNames }, pixels, notes);
  const indices = Array.from({ length: count }, (_, i) => i);
  const metrics = classMetrics(
    className,
    indices.map((i) => input.scores[i]),
    [...labels],
    input.maps,
    input.masks,
    { shape, fprLimit },
    notes,
  );
  return { className, metrics, notes };
}

/**
 * Per-class evaluations (in order) to the result {@linkcode evaluate} gives for their union:
 * the per-class metrics, the mean over classes and all notes.
 */
export function combineClassEvaluations(
  evaluations: readonly ClassEvaluation[],
): EvaluationResult {
  if (evaluations.length === 0) throw new Error("evaluate: no test images given");
  const classes: string[] = [];
  const perClass: Record<string, MetricSet> = {};
  const notes: string[] = [];
  for (const { className, metrics, notes: classNotes } of evaluations) {
    if (className in perClass) {
      throw new Error(`evaluate: class "${className}" was evaluated twice`);
    }
    classes.push(className);
    perClass[className] = metrics;
    notes.push(...classNotes);
  }
  return { classes, perClass, mean: meanOverClasses(classes, perClass, notes), notes };
}

function classMetrics(
  className: string,
  scores: number[],
  labels: number[],
  maps: readonly Float32Array[],
  masks: readonly Uint8Array[],
  options: { shape: readonly [number, number]; fprLimit: number; imageIndices?: number[] },
  notes: string[],
): MetricSet {
  const image = imageMetrics(scores, labels, className, notes);
  const pixel = pixelMetrics(maps, masks, options.shape, {
    fprLimit: options.fprLimit,
    imageIndices: options.imageIndices,
    where: "evaluate",
  });
  if (pixel.undefinedReason !== undefined) {
    notes.push(
      `class "${className}": P-AUROC, P-AP, P-F1max and AUPRO are NaN: ` +
        `${pixel.undefinedReason}`,
    );
  }
  const set = { ...image, ...pixel.metrics, mAD: NaN };
  set.mAD = meanOf(MAD_COMPONENTS.map((name) => set[name]));
  return set;
}

function checkSameLength(input: EvaluationInput): number {
  const count = input.scores.length;
  const lengths: [string, number][] = [
    ["maps", input.maps.length],
    ["masks", input.masks.length],
    ["classNames", input.classNames.length],
  ];
  if (input.labels !== undefined) lengths.push(["labels", input.labels.length]);
  for (const [name, length] of lengths) {
    if (length !== count) {
      throw new Error(`evaluate: scores has ${count} entries but ${name} has ${length}`);
    }
  }
  if (count === 0) throw new Error("evaluate: no test images given");
  for (let i = 0; i < count; i++) {
    if (Number.isNaN(input.scores[i])) throw new Error(`evaluate: scores[${i}] is NaN`);
    const name = input.classNames[i];
    if (typeof name !== "string" || name === "") {
      throw new Error(`evaluate: classNames[${i}] is not a non-empty string`);
    }
  }
  return count;
}

/** The image labels, given or from the masks, checked against the masks. */
function imageLabels(input: EvaluationInput, pixels: number, notes: string[]): Uint8Array {
  const { masks, shape } = input;
  const given = input.labels === undefined
    ? undefined
    : checkBinaryLabels(input.labels, "evaluate", "labels");
  const labels = new Uint8Array(masks.length);
  const labelledWithoutMask: number[] = [];
  for (let i = 0; i < masks.length; i++) {
    if (masks[i].length !== pixels) {
      throw new Error(
        `evaluate: masks[${i}] has ${masks[i].length} pixels but shape ` +
          `[${shape.join(", ")}] needs ${pixels}`,
      );
    }
    const anomalousPixels = countBinaryOnes(masks[i], shape[1], `evaluate: masks[${i}]`);
    if (given === undefined) {
      labels[i] = anomalousPixels > 0 ? 1 : 0;
      continue;
    }
    if (given[i] === 0 && anomalousPixels > 0) {
      throw new Error(
        `evaluate: image ${i} ("${input.classNames[i]}") has label 0 but its mask marks ` +
          `${anomalousPixels} anomalous pixels`,
      );
    }
    if (given[i] === 1 && anomalousPixels === 0) labelledWithoutMask.push(i);
    labels[i] = given[i];
  }
  if (labelledWithoutMask.length > 0) {
    notes.push(
      `${labelledWithoutMask.length} image(s) labelled anomalous have an empty mask ` +
        `(images ${labelledWithoutMask.slice(0, 10).join(", ")}` +
        `${labelledWithoutMask.length > 10 ? ", ..." : ""}); their pixels count as normal`,
    );
  }
  return labels;
}

function classOrder(classNames: readonly string[]): string[] {
  return [...new Set(classNames)];
}

function imageMetrics(
  scores: number[],
  labels: number[],
  className: string,
  notes: string[],
): Pick<MetricSet, "iAuroc" | "iAp" | "iF1Max"> {
  const anomalous = labels.reduce((sum, label) => sum + label, 0);
  const normal = labels.length - anomalous;
  if (anomalous === 0 || normal === 0) {
    notes.push(
      `class "${className}": I-AUROC, I-AP and I-F1max are NaN: ` +
        (anomalous === 0
          ? `no anomalous test images (${normal} normal)`
          : `no normal test images (${anomalous} anomalous)`),
    );
    return { iAuroc: NaN, iAp: NaN, iF1Max: NaN };
  }
  const curve = binaryCurve(scores, labels, "evaluate", "image metrics");
  return {
    iAuroc: aurocFromCurve(curve),
    iAp: averagePrecisionFromCurve(curve),
    iF1Max: f1MaxFromCurve(curve),
  };
}

function meanOverClasses(
  classes: readonly string[],
  perClass: Record<string, MetricSet>,
  notes: string[],
): MetricSet {
  const mean = {} as MetricSet;
  for (const name of METRIC_NAMES) {
    const values = classes.map((className) => perClass[className][name]);
    mean[name] = meanOf(values);
    const undefinedIn = classes.filter((className) => Number.isNaN(perClass[className][name]));
    if (undefinedIn.length > 0) {
      notes.push(
        `mean ${METRIC_LABELS[name]} is NaN: undefined for class(es) ` +
          undefinedIn.map((className) => `"${className}"`).join(", "),
      );
    }
  }
  return mean;
}

/** Arithmetic mean; NaN if any value is NaN. */
function meanOf(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}
