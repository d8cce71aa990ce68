/**
 * Input checks shared by the metrics. Each names the function and the position that is wrong,
 * so a bad score or label never turns into a silently wrong number.
 * @module
 */

/**
 * Checks that `scores` and `labels` have the same non-zero length, that every label is 0 or 1
 * and that no score is NaN (±Infinity is allowed: it still orders). Returns the labels as bytes.
 */
export function checkScoresAndLabels(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  where: string,
): Uint8Array {
  if (scores.length !== labels.length) {
    throw new Error(
      `${where}: scores has ${scores.length} entries but labels has ${labels.length}`,
    );
  }
  if (scores.length === 0) throw new Error(`${where}: scores and labels are empty`);
  checkNoNaN(scores, where, "scores");
  return checkBinaryLabels(labels, where, "labels");
}

/** Throws naming the first NaN in `values`. */
export function checkNoNaN(values: ArrayLike<number>, where: string, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) throw new Error(`${where}: ${name}[${i}] is NaN`);
  }
}

/** Throws naming the first entry that is not 0 or 1; returns the labels as bytes. */
export function checkBinaryLabels(
  labels: ArrayLike<number>,
  where: string,
  name: string,
): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) {
      throw new Error(`${where}: ${name}[${i}] is ${label}; labels must be 0 or 1`);
    }
    out[i] = label;
  }
  return out;
}

/** Throws unless both label classes are present; `metric` names what would be undefined. */
export function checkBothClassesPresent(
  positives: number,
  negatives: number,
  where: string,
  metric: string,
): void {
  if (positives === 0 || negatives === 0) {
    const missing = positives === 0 ? "no positives (label 1)" : "no negatives (label 0)";
    throw new Error(`${where}: the labels contain ${missing}; ${metric} is undefined`);
  }
}

/** Checks that `shape` is two positive integers and returns their product (pixels per map). */
export function checkShape(shape: readonly number[], where: string): number {
  if (
    shape.length !== 2 || !shape.every((side) => Number.isInteger(side) && side > 0)
  ) {
    throw new Error(
      `${where}: shape must be [height, width] of positive integers, got [${shape.join(", ")}]`,
    );
  }
  return shape[0] * shape[1];
}

/** Checks that `fprLimit` lies in (0, 1]. */
export function checkFprLimit(fprLimit: number, where: string): void {
  if (!(fprLimit > 0 && fprLimit <= 1)) {
    throw new Error(`${where}: fprLimit must be in (0, 1], got ${fprLimit}`);
  }
}

/** "row r, column c" of a flat row-major pixel index; for error messages. */
export function pixelPosition(index: number, width: number): string {
  return `row ${Math.floor(index / width)}, column ${index % width}`;
}
