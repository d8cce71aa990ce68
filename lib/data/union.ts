/**
 * Several datasets as one ("All-in-all" in the paper: MVTec AD + VisA + BTAD + Real-IAD, one
 * model over 60 classes). Class ids stay distinct across datasets: each class is renamed
 * `<part>/<class>` (`mvtec/bottle`, `visa/candle`), so two datasets that both have a `screw`
 * class give two classes, never one.
 *
 * On disk a union is a folder holding {@linkcode UNION_MANIFEST}, a JSON object naming the
 * parts: `{"datasets": {"mvtec": "/data/mvtec_ad", "visa": "/data/visa"}}` (relative roots are
 * taken from the manifest's folder). `readDataset` recognises such a folder, so a run's
 * `data.root` can point at a union like at any dataset.
 * @module
 */

import { join, resolve } from "@std/path";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import { DatasetError } from "./errors.ts";
import { buildDataset, compareStrings, isFile, type ReadOptions } from "./listing.ts";
import type { Dataset } from "./types.ts";

/** The manifest file that marks a folder as a union of datasets. */
export const UNION_MANIFEST = "ccl_union.json";

/** Between a part's name and its class name in the union's class names. */
export const UNION_SEPARATOR = "/";

/** A dataset and the name its classes are prefixed with in the union. */
export interface UnionPart {
  /** Letters, digits, `.`, `_`, `-` (no separator), e.g. `mvtec`. */
  name: string;
  dataset: Dataset;
}

/** What {@linkcode UNION_MANIFEST} holds: part name -> dataset root. */
export interface UnionManifest {
  datasets: Record<string, string>;
}

/** The union class name of `className` of part `part`: `mvtec/bottle`. */
export function unionClassName(part: string, className: string): string {
  return `${part}${UNION_SEPARATOR}${className}`;
}

function partNameProblem(name: string): string | undefined {
  return /^[\w.-]+$/.test(name)
    ? undefined
    : `union part name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`;
}

/**
 * Joins datasets into one whose classes are `<part>/<class>`. Records keep their files and
 * labels; only the class name changes. Two parts with the same name are an error.
 *
 * @example
 * ```ts
 * import { unionDatasets } from "./union.ts";
 * import type { Dataset } from "./types.ts";
 * const part = (root: string): Dataset => ({
 *   name: "d", root, layout: "mvtec", classes: ["screw"],
 *   records: [
 *     { imagePath: `${root}/1.png`, className: "screw", split: "train", defect: "good", label: 0 },
 *     { imagePath: `${root}/2.png`, className: "screw", split: "test", defect: "good", label: 0 },
 *   ],
 * });
 * const all = unionDatasets(
 *   [{ name: "a", dataset: part("/a") }, { name: "b", dataset: part("/b") }],
 *   { root: "/u" },
 * );
 * if (all.classes.join() !== "a/screw,b/screw") throw new Error(all.classes.join());
 * ```
 */
export function unionDatasets(
  parts: readonly UnionPart[],
  options: { root: string; name?: string },
): Dataset {
  if (parts.length === 0) {
    throw new DatasetError("a union needs at least one dataset", options.root);
  }
  const seen = new Set<string>();
  for (const { name } of parts) {
    const problem = partNameProblem(name);
    if (problem) throw new DatasetError(problem, options.root);
    if (seen.has(name)) throw new DatasetError(`union names dataset "${name}" twice`, options.root);
    seen.add(name);
  }
  const records = parts.flatMap(({ name, dataset }) =>
    dataset.records.map((r) => ({ ...r, className: unionClassName(name, r.className) }))
  );
  return buildDataset({
    name: options.name ?? [...parts.map((p) => p.name)].sort(compareStrings).join("+"),
    root: resolve(options.root),
    layout: "union",
    records,
  });
}

/** Whether `dir` holds a union manifest. */
export async function isUnionFolder(dir: string): Promise<boolean> {
  return await isFile(join(dir, UNION_MANIFEST));
}

/**
 * Writes a union manifest into `dir` (created if needed) and returns `dir`, ready to be a run's
 * `data.root`.
 *
 * @example
 * ```ts ignore
 * import { writeUnionManifest } from "./union.ts";
 * const root = await writeUnionManifest(".cache/all-in-all", { mvtec: "/data/mvtec", visa: "/data/visa" });
 * ```
 */
export async function writeUnionManifest(
  dir: string,
  datasets: Record<string, string>,
): Promise<string> {
  const absolute = Object.fromEntries(
    Object.entries(datasets).map(([name, root]) => [name, resolve(root)]),
  );
  for (const name of Object.keys(absolute)) {
    const problem = partNameProblem(name);
    if (problem) throw new DatasetError(problem, dir);
  }
  const manifest: UnionManifest = { datasets: absolute };
  await writeJsonAtomic(join(dir, UNION_MANIFEST), manifest);
  return dir;
}

/** Reads and checks a union manifest. */
export async function readUnionManifest(dir: string): Promise<UnionManifest> {
  const path = join(dir, UNION_MANIFEST);
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new DatasetError(`cannot read union manifest (${(e as Error).message})`, path, {
      cause: e,
    });
  }
  const datasets = (value as { datasets?: unknown } | null)?.datasets;
  if (
    typeof datasets !== "object" || datasets === null || Array.isArray(datasets) ||
    Object.keys(datasets).length === 0 ||
    !Object.values(datasets).every((root) => typeof root === "string" && root !== "")
  ) {
    throw new DatasetError(
      `union manifest must be {"datasets": {"<name>": "<root>", ...}} with at least one entry`,
      path,
    );
  }
  return { datasets: datasets as Record<string, string> };
}

/**
 * Reads the union at `dir`: each part with `readPart` (normally `readDataset`), joined by
 * {@linkcode unionDatasets}. `options.classes`, if given, are union names (`mvtec/bottle`).
 */
export async function readUnionDataset(
  dir: string,
  readPart: (root: string, options: ReadOptions) => Promise<Dataset>,
  options: ReadOptions = {},
): Promise<Dataset> {
  dir = resolve(dir);
  const manifest = await readUnionManifest(dir);
  const wanted = options.classes === undefined ? undefined : new Set(options.classes);
  const parts: UnionPart[] = [];
  for (
    const [name, root] of Object.entries(manifest.datasets).sort(([a], [b]) => compareStrings(a, b))
  ) {
    const prefix = name + UNION_SEPARATOR;
    const classes = wanted === undefined
      ? undefined
      : [...wanted].filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length));
    if (classes !== undefined && classes.length === 0) continue;
    const dataset = await readPart(resolve(dir, root), {
      validate: options.validate,
      note: options.note,
      ...(classes === undefined ? {} : { classes }),
    });
    parts.push({ name, dataset });
  }
  if (wanted !== undefined) {
    const known = new Set(Object.keys(manifest.datasets));
    const stray = [...wanted].filter((c) => !known.has(c.split(UNION_SEPARATOR)[0]));
    if (stray.length > 0) {
      throw new DatasetError(
        `class "${stray[0]}" names no dataset of the union (classes are <dataset>/<class>; ` +
          `datasets: ${[...known].join(", ")})`,
        join(dir, UNION_MANIFEST),
      );
    }
  }
  return unionDatasets(parts, { root: dir, name: options.name });
}
