/**
 * The supervision CCL uses: an integer class id per training image, either from the dataset's
 * class names or from a pseudo-label JSON file (k-means cluster ids).
 *
 * Pseudo-label file format: one JSON object mapping each image path (exactly as the dataset
 * records it) to a non-negative integer cluster id, e.g.
 * `{ "carpet/train/good/000.png": 3, "wood/train/good/000.png": 7 }`.
 * @module
 */
import { normalize, relative } from "@std/path";
import { DatasetError } from "../data/errors.ts";

/** A stable mapping between class names and ids 0..n-1 (names sorted). */
export interface ClassIndex {
  /** Class names; the id of `names[k]` is k. */
  readonly names: readonly string[];
  /** The id of `name`; throws for an unknown name. */
  idOf(name: string): number;
}

/**
 * Builds the class index of a set of names: distinct names, sorted, numbered from 0, so that the
 * ids do not depend on the order in which images were listed.
 *
 * @example
 * ```ts
 * import { classIndexFromNames } from "./labels.ts";
 * const index = classIndexFromNames(["wood", "carpet", "wood"]);
 * // index.names = ["carpet", "wood"], index.idOf("wood") = 1
 * ```
 */
export function classIndexFromNames(names: Iterable<string>): ClassIndex {
  const sorted = [...new Set(names)].sort();
  if (sorted.length === 0) throw new RangeError("class index: no class names given");
  const ids = new Map(sorted.map((name, id) => [name, id]));
  return {
    names: sorted,
    idOf(name) {
      const id = ids.get(name);
      if (id === undefined) {
        throw new RangeError(`unknown class "${name}" (known: ${sorted.join(", ")})`);
      }
      return id;
    },
  };
}

/**
 * The class id of each name under `index` (default: the index of these names themselves).
 *
 * @example
 * ```ts
 * import { classIdsFromNames } from "./labels.ts";
 * const ids = classIdsFromNames(["wood", "carpet", "wood"]); // Int32Array [1, 0, 1]
 * ```
 */
export function classIdsFromNames(
  names: readonly string[],
  index: ClassIndex = classIndexFromNames(names),
): Int32Array {
  return Int32Array.from(names, (name) => index.idOf(name));
}

/** Path key used to forgive `./a/b.png` vs `a/b.png` and Windows separators. */
function pathKey(path: string): string {
  return normalize(path.replaceAll("\\", "/"));
}

/**
 * Validates the parsed contents of a pseudo-label file: an object whose values are
 * non-negative integers. `source` (the file) is named in every error.
 *
 * @example
 * ```ts
 * import { parsePseudoLabels } from "./labels.ts";
 * const labels = parsePseudoLabels({ "a/0.png": 0, "b/0.png": 1 }, "labels.json");
 * ```
 */
export function parsePseudoLabels(json: unknown, source: string): Map<string, number> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new DatasetError(
      "pseudo-label file must hold one JSON object mapping image path -> cluster id",
      source,
    );
  }
  const labels = new Map<string, number>();
  const byKey = new Map<string, string>();
  for (const [path, id] of Object.entries(json)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new DatasetError(
        `pseudo-label of "${path}" must be a non-negative integer, got ${JSON.stringify(id)}`,
        source,
      );
    }
    const key = pathKey(path);
    const earlier = byKey.get(key);
    if (earlier !== undefined && labels.get(earlier) !== id) {
      throw new DatasetError(
        `pseudo-labels of "${earlier}" and "${path}" name the same image with different ids`,
        source,
      );
    }
    byKey.set(key, path);
    labels.set(path, id);
  }
  if (labels.size === 0) throw new DatasetError("pseudo-label file is empty", source);
  return labels;
}

/**
 * Reads and validates a pseudo-label JSON file (see the module doc for the format).
 *
 * @example
 * ```ts ignore
 * import { readPseudoLabels } from "./labels.ts";
 * const labels = await readPseudoLabels("results/kmeans/pseudo_labels.json");
 * ```
 */
export async function readPseudoLabels(path: string): Promise<Map<string, number>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new DatasetError("cannot read pseudo-label file", path, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DatasetError(`pseudo-label file is not valid JSON (${error})`, path, {
      cause: error,
    });
  }
  return parsePseudoLabels(json, path);
}

/** How many missing paths an error lists before summarising. */
const MISSING_SHOWN = 5;

/**
 * The cluster id of each image. Paths match exactly or after normalisation (`./`, `..`,
 * backslashes), or, given the dataset `root`, relative to it (the portable form the
 * clustering room writes). Images missing from the file are an error naming `source`, how many are
 * missing and the first few of them: a partial labelling would silently train on wrong classes.
 *
 * @example
 * ```ts
 * import { classIdsFromPseudoLabels } from "./labels.ts";
 * const labels = new Map([["a/0.png", 4], ["b/0.png", 2]]);
 * const ids = classIdsFromPseudoLabels(["./a/0.png", "b/0.png"], labels, "labels.json"); // [4, 2]
 * ```
 */
export function classIdsFromPseudoLabels(
  imagePaths: readonly string[],
  labels: ReadonlyMap<string, number>,
  source: string,
  root?: string,
): Int32Array {
  const normalised = new Map<string, number>();
  for (const [path, id] of labels) normalised.set(pathKey(path), id);
  const missing: string[] = [];
  const ids = Int32Array.from(imagePaths, (path) => {
    const id = labels.get(path) ?? normalised.get(pathKey(path)) ??
      (root === undefined ? undefined : normalised.get(pathKey(relative(root, path))));
    if (id === undefined) {
      missing.push(path);
      return -1;
    }
    return id;
  });
  if (missing.length > 0) {
    const shown = missing.slice(0, MISSING_SHOWN).map((p) => `"${p}"`).join(", ");
    const more = missing.length > MISSING_SHOWN
      ? `, and ${missing.length - MISSING_SHOWN} more`
      : "";
    throw new DatasetError(
      `pseudo-label file has no entry for ${missing.length} of ${imagePaths.length} images: ${shown}${more}`,
      source,
    );
  }
  return ids;
}
