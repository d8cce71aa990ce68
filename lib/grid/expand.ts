/**
 * Expands a grid spec into named runs: the cross product of its axes, each value turned into
 * experiment-config settings, merged over the fixed settings and validated as a run config.
 * @module
 */
import { join } from "@std/path";
import {
  DEFAULT_CONFIG,
  type ExperimentConfig,
  type PartialConfig,
  resolveConfig,
} from "../experiment/config.ts";
import { assertConfigFilesExist } from "../experiment/validate_config.ts";
import { METHOD_NAMES } from "../methods/registry.ts";
import type { AxisValue, GridSpec } from "./spec.ts";

/** Experiment-config settings (a partial config as JSON). */
export type ConfigSettings = Record<string, unknown>;

/** Built-in strategy presets; a spec's `strategies` adds to them. */
export const STRATEGY_PRESETS: Readonly<Record<string, ConfigSettings>> = {
  "per-class": { strategy: "per-class", ccl: null },
  "joint": { strategy: "joint", ccl: null },
  "joint+ccl": { strategy: "joint", ccl: {} },
};

/** The dataset every grid knows: the embedded synthetic one. */
export const SYNTHETIC_DATASET = "synthetic";

/** One run of a grid. */
export interface GridRun {
  /** Stable name from the axis values, e.g. `rd_joint-ccl_synthetic_seed0`. */
  name: string;
  /** Position in the expansion (row-major over the axes in spec order). */
  index: number;
  /** The run's value on each axis. */
  axes: Record<string, AxisValue>;
  /** The full, validated run config (its `name` is the run name). */
  config: ExperimentConfig;
}

/** A grid spec expanded. */
export interface GridPlan {
  spec: GridSpec;
  /** Axis names in spec order. */
  axes: string[];
  runs: GridRun[];
  /** Parent folder of the run folders. */
  resultsDir: string;
  /** The grid's own files: configs, scripts, logs, states, job ids. */
  gridDir: string;
}

/** Options of {@linkcode expandGrid}. */
export interface ExpandOptions {
  /** Overrides the spec's `resultsDir`. */
  resultsDir?: string;
  /** Where the spec came from, for error messages. */
  source?: string;
}

/**
 * Expands `spec` into its runs. An axis value that is unknown (a method that is not registered, a
 * dataset or strategy that is not defined) or that makes an invalid config is an error naming the
 * axis and the value.
 *
 * @example
 * ```ts
 * import { expandGrid } from "./expand.ts";
 * const plan = expandGrid({
 *   name: "demo",
 *   axes: { method: ["rd"], strategy: ["joint", "joint+ccl"], seed: [0, 1] },
 *   fixed: { epochs: 1 },
 * });
 * if (plan.runs.length !== 4) throw new Error("expected 4 runs");
 * if (plan.runs[1].name !== "rd_joint_seed1") throw new Error(plan.runs[1].name);
 * ```
 */
export function expandGrid(spec: GridSpec, options: ExpandOptions = {}): GridPlan {
  const source = options.source ?? `grid spec "${spec.name}"`;
  if (spec.fixed && "name" in spec.fixed) {
    throw new Error(`${source}: fixed.name is not allowed; run names come from the axes`);
  }
  const axes = Object.keys(spec.axes);
  const settingsOf = new Map<string, ConfigSettings>();
  for (const axis of axes) {
    for (const value of spec.axes[axis]) {
      settingsOf.set(`${axis}\u0000${value}`, axisSettings(spec, axis, value, source));
    }
  }
  const runs: GridRun[] = [];
  const names = new Map<string, string>();
  for (const combination of crossProduct(axes.map((axis) => spec.axes[axis]))) {
    const values = Object.fromEntries(axes.map((axis, i) => [axis, combination[i]]));
    const name = gridRunName(values);
    const described = describe(values);
    if (names.has(name)) {
      throw new Error(
        `${source}: runs ${names.get(name)} and ${described} get the same name "${name}"; ` +
          `use axis values that differ in letters, digits, '.', '_' or '-'`,
      );
    }
    names.set(name, described);
    let settings: ConfigSettings = { ...(spec.fixed ?? {}) };
    for (const axis of axes) {
      settings = mergeSettings(settings, settingsOf.get(`${axis}\u0000${values[axis]}`)!);
    }
    let config: ExperimentConfig;
    try {
      config = resolveConfig({ ...settings, name } as PartialConfig);
    } catch (error) {
      throw new Error(`${source}: run ${name} (${described}): ${(error as Error).message}`);
    }
    runs.push({ name, index: runs.length, axes: values, config });
  }
  const resultsDir = options.resultsDir ?? spec.resultsDir ?? join("results", "grid", spec.name);
  return { spec, axes, runs, resultsDir, gridDir: join(resultsDir, "_grid") };
}

/**
 * The name of a run from its axis values, in axis order: names as they are (`+` and other
 * characters outside letters, digits, `.`, `_`, `-` become `-`), seeds as `seed<N>`, other numbers
 * as `<axis><N>`.
 *
 * @example
 * ```ts
 * import { gridRunName } from "./expand.ts";
 * const name = gridRunName({ method: "rd", strategy: "joint+ccl", epochs: 20, seed: 1 });
 * if (name !== "rd_joint-ccl_epochs20_seed1") throw new Error(name);
 * ```
 */
export function gridRunName(values: Record<string, AxisValue>): string {
  return Object.entries(values).map(([axis, value]) => {
    const text = typeof value === "number" ? `${axis}${value}` : value;
    return text.replace(/[^\w.-]/g, "-");
  }).join("_");
}

function describe(values: Record<string, AxisValue>): string {
  return Object.entries(values).map(([axis, value]) => `${axis}=${value}`).join(", ");
}

function crossProduct(lists: AxisValue[][]): AxisValue[][] {
  return lists.reduce<AxisValue[][]>(
    (combinations, list) => combinations.flatMap((prefix) => list.map((v) => [...prefix, v])),
    [[]],
  );
}

const CONFIG_KEYS = Object.keys(DEFAULT_CONFIG).filter((key) => key !== "name");

/** The config settings one axis value stands for. */
function axisSettings(
  spec: GridSpec,
  axis: string,
  value: AxisValue,
  source: string,
): ConfigSettings {
  const unknown = (known: string[], extra = "") =>
    new Error(
      `${source}: axes.${axis}: unknown value ${JSON.stringify(value)} ` +
        `(known: ${known.join(", ") || "none"})${extra}`,
    );
  const defined = spec.define?.[axis]?.[String(value)];
  if (defined) return defined;
  switch (axis) {
    case "method": {
      if (!(METHOD_NAMES as readonly string[]).includes(String(value))) {
        throw unknown([...METHOD_NAMES], "; methods are registered in lib/methods/registry.ts");
      }
      return { method: value };
    }
    case "dataset": {
      if (value === SYNTHETIC_DATASET) return { data: {} };
      const data = spec.datasets?.[String(value)];
      if (!data) {
        throw unknown(
          [SYNTHETIC_DATASET, ...Object.keys(spec.datasets ?? {})],
          `; name datasets in the spec's "datasets"`,
        );
      }
      return { data };
    }
    case "strategy": {
      const preset = spec.strategies?.[String(value)] ?? STRATEGY_PRESETS[String(value)];
      if (preset) return preset;
      // A strategy the config itself knows (e.g. one added after these presets) is accepted.
      const plain: ConfigSettings = { strategy: value, ccl: null };
      try {
        resolveConfig(plain as PartialConfig);
      } catch (error) {
        const said = (error as Error).message.split("\n").find((l) => l.includes("strategy"));
        throw unknown(
          [...Object.keys(STRATEGY_PRESETS), ...Object.keys(spec.strategies ?? {})],
          `; define others in the spec's "strategies"${said ? ` (config: ${said.trim()})` : ""}`,
        );
      }
      return plain;
    }
    case "seed": {
      if (!Number.isInteger(value)) {
        throw new Error(`${source}: axes.seed: ${value} is not an integer`);
      }
      return { seed: value };
    }
    default: {
      if (!CONFIG_KEYS.includes(axis)) {
        throw new Error(
          `${source}: axes.${axis}: not an experiment-config key and no values in define.${axis} ` +
            `(config keys: ${CONFIG_KEYS.join(", ")})`,
        );
      }
      if (spec.define?.[axis]) throw unknown(Object.keys(spec.define[axis]));
      return { [axis]: value };
    }
  }
}

/** Merges `over` onto `base`: `data` and `methodOptions` key by key, everything else replaced. */
export function mergeSettings(base: ConfigSettings, over: ConfigSettings): ConfigSettings {
  const merged: ConfigSettings = { ...base, ...over };
  for (const key of ["data", "methodOptions"]) {
    if (isRecord(base[key]) && isRecord(over[key])) merged[key] = { ...base[key], ...over[key] };
  }
  return merged;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks that every dataset folder, backbone weight file and pseudo-label file the plan names
 * exists, so a typo fails before anything is submitted.
 */
export async function checkPlanInputs(plan: GridPlan): Promise<void> {
  const roots = new Map<string, string>();
  for (const run of plan.runs) {
    if (run.config.data.root) roots.set(run.config.data.root, String(run.axes.dataset ?? run.name));
  }
  for (const [root, dataset] of roots) {
    const info = await Deno.stat(root).catch(() => undefined);
    if (!info?.isDirectory) {
      throw new Error(
        `grid spec "${plan.spec.name}": dataset ${dataset}: root ${root} does not exist ` +
          `or is not a folder`,
      );
    }
  }
  for (const run of plan.runs) {
    try {
      assertConfigFilesExist(run.config);
    } catch (error) {
      throw new Error(
        `grid spec "${plan.spec.name}": run ${run.name}: ${(error as Error).message}`,
      );
    }
  }
}
