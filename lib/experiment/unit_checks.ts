/**
 * Checks of the training units against the dataset that would otherwise fail only after
 * training: run before the first epoch.
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { decodeTestFiles } from "../data/validate.ts";

/** A unit as the runner lists them: its name and classes. */
export interface UnitClasses {
  unit: string;
  classes: string[];
}

/**
 * A unit of several classes reports how well its features of the normal test images cluster by
 * class, which needs normal test images of every class in it. Throws naming the classes that
 * have none.
 *
 * @example
 * ```ts
 * import { assertUnitsEvaluable } from "./unit_checks.ts";
 * const good = { className: "a", split: "test", defect: "good", label: 0, imagePath: "a.png" } as const;
 * assertUnitsEvaluable(
 *   { name: "d", root: "/d", layout: "folder", classes: ["a"], records: [good] },
 *   [{ unit: "a", classes: ["a"] }],
 * );
 * ```
 */
export function assertUnitsEvaluable(dataset: Dataset, units: readonly UnitClasses[]): void {
  const withNormals = new Set(
    dataset.records.filter((r) => r.split === "test" && r.label === 0).map((r) => r.className),
  );
  for (const { unit, classes } of units) {
    if (classes.length < 2) continue;
    const missing = classes.filter((c) => !withNormals.has(c));
    if (missing.length > 0) {
      throw new Error(
        `${dataset.root}: class(es) ${missing.map((c) => `"${c}"`).join(", ")} ` +
          `have no normal test images; the ${unit} unit's class-clustering report needs ` +
          "normal test images of every class (add some, or leave the class out with --classes)",
      );
    }
  }
}

/**
 * Everything checked between reading the dataset and the first epoch: the units can be
 * evaluated, and every test image and mask decodes (a damaged file is named now, not after
 * training).
 */
export async function checkBeforeTraining(
  dataset: Dataset,
  units: readonly UnitClasses[],
  say: (line: string) => void = () => {},
): Promise<void> {
  assertUnitsEvaluable(dataset, units);
  const started = performance.now();
  const files = await decodeTestFiles(dataset);
  const seconds = (performance.now() - started) / 1000;
  say(`decoded ${files} test images and masks in ${seconds.toFixed(1)} s: all readable`);
}
