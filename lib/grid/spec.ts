/**
 * The grid spec: a JSON file naming axes (method, strategy, dataset, seed, or any config key),
 * fixed settings, named datasets and strategy presets, and the resources of a Slurm task.
 * @module
 */

/** A value on an axis: a name (`"joint+ccl"`, `"mvtec"`) or a number (a seed, an epoch count). */
export type AxisValue = string | number;

/** Slurm resources and setup for each array task (all optional; the cluster's defaults apply). */
export interface SlurmSettings {
  /** `--partition`. */
  partition?: string;
  /** `--account`. */
  account?: string;
  /** `--qos`. */
  qos?: string;
  /** `--time` of one run, e.g. `"08:00:00"`. */
  time?: string;
  /** GPUs per task (`--gres=gpu[:type]:N`). */
  gpus?: number;
  /** GPU type for `--gres`, e.g. `"a100"`. */
  gpuType?: string;
  /** `--cpus-per-task`. */
  cpusPerTask?: number;
  /** `--mem` per task, e.g. `"32G"`. */
  mem?: string;
  /** At most this many array tasks at once (`--array=0-N%max`). */
  maxParallel?: number;
  /** Further `#SBATCH` options, verbatim, e.g. `["--constraint=a100"]`. */
  extra?: string[];
  /** Shell lines run before training in each task, e.g. `["module load cuda/11.2"]`. */
  setup?: string[];
  /** The Deno executable on the compute nodes (default: the one running the grid command). */
  deno?: string;
  /** `--time` of the collect job that runs after the array (default `"00:30:00"`). */
  collectTime?: string;
}

/** ConfigSettings of the local executor. */
export interface LocalSettings {
  /** Runs at once (default: the number of CPU cores, at most the number of runs). */
  workers?: number;
}

/** A grid spec as written in JSON. */
export interface GridSpec {
  /** Grid name (letters, digits, `.`, `_`, `-`). */
  name: string;
  /** What the grid is for (free text). */
  description?: string;
  /**
   * Axes in naming order. Built in: `method` (a registered method), `strategy` (a preset or a
   * name from `strategies`), `dataset` (`synthetic` or a name from `datasets`), `seed`
   * (integers). Any other axis is an experiment-config key set to each value, or has its values
   * defined in `define`.
   */
  axes: Record<string, AxisValue[]>;
  /** ConfigSettings of every run (experiment-config keys), under the axes' values. */
  fixed?: Record<string, unknown>;
  /** Named datasets: the `data` part of a config (`{"root": "/shared/mvtec_ad"}`). */
  datasets?: Record<string, Record<string, unknown>>;
  /** Further strategy presets: name -> config settings, e.g. pseudo-label CCL. */
  strategies?: Record<string, Record<string, unknown>>;
  /** Values of other axes: axis -> value -> config settings. */
  define?: Record<string, Record<string, Record<string, unknown>>>;
  /** Parent folder of the runs and of the grid's own files (default `results/grid/<name>`). */
  resultsDir?: string;
  slurm?: SlurmSettings;
  local?: LocalSettings;
}

const SPEC_KEYS = [
  "name",
  "axes",
  "fixed",
  "datasets",
  "strategies",
  "define",
  "resultsDir",
  "slurm",
  "local",
  "description",
];

const SLURM_KEYS: Record<keyof SlurmSettings, "string" | "number" | "strings"> = {
  partition: "string",
  account: "string",
  qos: "string",
  time: "string",
  gpus: "number",
  gpuType: "string",
  cpusPerTask: "number",
  mem: "string",
  maxParallel: "number",
  extra: "strings",
  setup: "strings",
  deno: "string",
  collectTime: "string",
};

const NAME_PATTERN = /^[\w.-]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the shape of a parsed grid spec and returns it typed; every problem is named by its key,
 * prefixed with `source` (the file).
 *
 * @example
 * ```ts
 * import { parseGridSpec } from "./spec.ts";
 * const spec = parseGridSpec({ name: "g", axes: { seed: [0, 1] } }, "g.json");
 * if (spec.axes.seed.length !== 2) throw new Error("axes lost");
 * ```
 */
export function parseGridSpec(value: unknown, source = "grid spec"): GridSpec {
  const problems: string[] = [];
  if (!isRecord(value)) throw new Error(`${source}: a grid spec must be a JSON object`);
  for (const key of Object.keys(value)) {
    if (!SPEC_KEYS.includes(key)) {
      problems.push(`unknown key "${key}" (known: ${SPEC_KEYS.join(", ")})`);
    }
  }
  if (typeof value.name !== "string" || !NAME_PATTERN.test(value.name)) {
    problems.push(
      `"name" must be letters, digits, '.', '_' or '-', got ${JSON.stringify(value.name)}`,
    );
  }
  if (!isRecord(value.axes) || Object.keys(value.axes).length === 0) {
    problems.push(`"axes" must be an object with at least one axis`);
  } else {
    for (const [axis, values] of Object.entries(value.axes)) {
      if (!Array.isArray(values) || values.length === 0) {
        problems.push(`axes.${axis} must be a non-empty array`);
        continue;
      }
      for (const v of values) {
        if (typeof v !== "string" && typeof v !== "number") {
          problems.push(
            `axes.${axis}: values must be strings or numbers, got ${JSON.stringify(v)}`,
          );
        }
      }
      if (new Set(values).size !== values.length) problems.push(`axes.${axis} repeats a value`);
    }
  }
  for (const key of ["fixed", "datasets", "strategies", "define", "slurm", "local"]) {
    if (value[key] !== undefined && !isRecord(value[key])) {
      problems.push(`"${key}" must be an object`);
    }
  }
  for (const key of ["datasets", "strategies"]) {
    if (!isRecord(value[key])) continue;
    for (const [name, entry] of Object.entries(value[key])) {
      if (!isRecord(entry)) problems.push(`${key}.${name} must be an object`);
    }
  }
  if (isRecord(value.define)) {
    for (const [axis, entries] of Object.entries(value.define)) {
      if (!isRecord(entries) || !Object.values(entries).every(isRecord)) {
        problems.push(`define.${axis} must map each value to an object of config settings`);
      }
    }
  }
  if (value.description !== undefined && typeof value.description !== "string") {
    problems.push(`"description" must be a string`);
  }
  if (value.resultsDir !== undefined && typeof value.resultsDir !== "string") {
    problems.push(`"resultsDir" must be a string`);
  }
  if (isRecord(value.slurm)) problems.push(...slurmProblems(value.slurm));
  if (isRecord(value.local) && value.local.workers !== undefined) {
    if (!Number.isInteger(value.local.workers) || (value.local.workers as number) < 1) {
      problems.push(`local.workers must be a positive integer`);
    }
  }
  if (problems.length) throw new Error(`${source}: invalid grid spec:\n  ${problems.join("\n  ")}`);
  return value as unknown as GridSpec;
}

function slurmProblems(slurm: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, entry] of Object.entries(slurm)) {
    const kind = SLURM_KEYS[key as keyof SlurmSettings];
    if (!kind) {
      problems.push(`unknown key slurm.${key} (known: ${Object.keys(SLURM_KEYS).join(", ")})`);
    } else if (kind === "string" && (typeof entry !== "string" || /[\n\r]/.test(entry))) {
      problems.push(`slurm.${key} must be a one-line string`);
    } else if (kind === "number" && (!Number.isInteger(entry) || (entry as number) < 0)) {
      problems.push(`slurm.${key} must be an integer >= 0`);
    } else if (
      kind === "strings" &&
      (!Array.isArray(entry) || !entry.every((s) => typeof s === "string" && !/[\n\r]/.test(s)))
    ) {
      problems.push(`slurm.${key} must be an array of one-line strings`);
    }
  }
  return problems;
}

/** Reads and checks a grid spec file. */
export async function readGridSpec(path: string): Promise<GridSpec> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`${path}: cannot read grid spec: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
  return parseGridSpec(value, path);
}
