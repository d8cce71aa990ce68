/**
 * Families of synthetic classes: `distinct` (the original seven classes, easy to tell apart)
 * and `confusable` (eleven classes sharing low-level statistics, with a confusability level).
 * A family resolves class names to renderable classes and says where a class's
 * `foreign_class` patches come from.
 * @module
 */

import { SYNTH_CLASS_NAMES, SYNTH_CLASSES } from "./classes.ts";
import {
  CONFUSABLE_CLASS_NAMES,
  confusableClasses,
  nearestConfusableClass,
  requireConfusability,
} from "./confusable.ts";
import type { SynthClass } from "./scene.ts";

/** The families of synthetic classes. */
export const SYNTH_FAMILIES = ["distinct", "confusable"] as const;

/** A family's name. */
export type SynthFamilyName = typeof SYNTH_FAMILIES[number];

/** The classes of one family at one confusability level. */
export interface SynthFamily {
  name: SynthFamilyName;
  /** 0 for the distinct family. */
  confusability: number;
  classes: readonly SynthClass[];
  /** Class names, in dataset order. */
  classNames: readonly string[];
  /** The class called `name`; throws naming the family's classes if there is none. */
  getClass(name: string): SynthClass;
  /** Classes a `foreign_class` patch of class `name` is drawn from (uniformly). */
  foreignSources(name: string): readonly SynthClass[];
}

/** Class names of a family (they do not depend on the confusability). */
export function familyClassNames(name: SynthFamilyName): readonly string[] {
  return name === "confusable" ? CONFUSABLE_CLASS_NAMES : SYNTH_CLASS_NAMES;
}

/**
 * Checks a family name; throws listing the families.
 *
 * @example
 * ```ts
 * import { requireFamily } from "./family.ts";
 * requireFamily("confusable"); // "confusable"
 * ```
 */
export function requireFamily(name: string): SynthFamilyName {
  if (!(SYNTH_FAMILIES as readonly string[]).includes(name)) {
    throw new Error(
      `synthetic dataset: unknown family "${name}"; expected one of ${SYNTH_FAMILIES.join(", ")}`,
    );
  }
  return name as SynthFamilyName;
}

const cache = new Map<string, SynthFamily>();

/**
 * The family `name` at `confusability` (which must be 0 for the distinct family).
 *
 * @example
 * ```ts
 * import { synthFamily } from "./family.ts";
 * const family = synthFamily("confusable", 0.5);
 * family.foreignSources("screw_slot").map((c) => c.name); // ["screw_cross"]
 * ```
 */
export function synthFamily(name: SynthFamilyName = "distinct", confusability = 0): SynthFamily {
  requireFamily(name);
  requireConfusability(confusability);
  if (name === "distinct" && confusability !== 0) {
    throw new RangeError(
      `synthetic dataset: confusability applies to the confusable family only; the distinct ` +
        `family has none (got ${confusability})`,
    );
  }
  const key = `${name}:${confusability}`;
  const known = cache.get(key);
  if (known) return known;
  const classes = name === "confusable" ? confusableClasses(confusability) : SYNTH_CLASSES;
  const classNames = classes.map((c) => c.name);
  const getClass = (className: string) => {
    const found = classes.find((c) => c.name === className);
    if (!found) {
      throw new Error(
        `unknown synthetic class "${className}" in the ${name} family; known classes: ` +
          classNames.join(", "),
      );
    }
    return found;
  };
  const foreignSources = (className: string): readonly SynthClass[] => {
    getClass(className);
    if (name === "distinct") return classes.filter((c) => c.name !== className);
    const nearest = nearestConfusableClass(className, confusability);
    if (!nearest) throw new Error(`confusable class "${className}" has no nearest class`);
    return [getClass(nearest)];
  };
  const family: SynthFamily = {
    name,
    confusability,
    classes,
    classNames,
    getClass,
    foreignSources,
  };
  cache.set(key, family);
  return family;
}

/**
 * A cache folder name that tells datasets of different families, levels, sizes and seeds
 * apart: `.cache/synth-<size>-seed<seed>` for the distinct family (the folder experiment
 * runs already use), `.cache/synth-confusable-c<level>-<size>-seed<seed>` for the other.
 *
 * @example
 * ```ts
 * import { synthCacheDir } from "./family.ts";
 * synthCacheDir({ family: "confusable", confusability: 0.5, size: 64, seed: 0 });
 * // ".cache/synth-confusable-c0.5-64-seed0"
 * ```
 */
export function synthCacheDir(
  options: { family?: SynthFamilyName; confusability?: number; size: number; seed: number },
  parent = ".cache",
): string {
  const family = options.family ?? "distinct";
  const name = family === "distinct"
    ? `synth-${options.size}-seed${options.seed}`
    : `synth-${family}-c${options.confusability ?? 0}-${options.size}-seed${options.seed}`;
  return `${parent}/${name}`;
}
