/**
 * The main job: RD one-for-one, RD joint and RD joint + CCL side by side, on the embedded
 * synthetic dataset (by default its confusable family at the default confusability) or on a
 * dataset folder (`data`), for one or more seeds, with the shipped backbone. Writes one table
 * (mean ± sd over seeds when there are several), per-seed tables and the plots.
 * @module
 */
import { join, resolve } from "@std/path";
import { writeDemoPlots } from "../analysis/demo_plots.ts";
import {
  DEFAULT_CONFUSABILITY,
  ensureSynthDataset,
  synthCacheDir,
  type SynthFamilyName,
} from "../data/synth/mod.ts";
import { METRIC_LABELS, METRIC_NAMES } from "../metrics/metric_names.ts";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import type { PartialConfig } from "./config.ts";
import { formatDuration, type ProgressMode } from "./progress.ts";
import { metricsTable } from "./results_table.ts";
import { formatPercent } from "./table.ts";
import { runDirectory, runExperiment, type RunResult } from "./run_experiment.ts";
import { resolveConfig } from "./config.ts";
import { assertConfigFilesExist } from "./validate_config.ts";
import { SYNTHESIZING_METHODS } from "../methods/registry.ts";
import { loadTextureFolder } from "../methods/synthetic/texture_folder.ts";
import { defaultWorkerCount, WorkerPool } from "../parallel/pool.ts";

/** Options of {@linkcode runDemo}. */
export interface DemoOptions {
  /** The short version: 4 epochs instead of 20. */
  quick?: boolean;
  /** Parent folder (default `results/demo`, `results/demo-quick` with `quick`). */
  resultsDir?: string;
  /** Overrides of every run's config (epochs, backend, `data.root`, ...). */
  overrides?: PartialConfig;
  /** Synthetic family when no `overrides.data.root` is given (default `confusable`). */
  family?: SynthFamilyName;
  /** Confusability of the confusable family (default `DEFAULT_CONFUSABILITY`). */
  confusability?: number;
  /** Training seeds (default `[overrides.seed ?? 0]`); each runs all three strategies. */
  seeds?: readonly number[];
  /** Methods to compare (default `[overrides.method ?? "rd"]`); each runs every strategy. */
  methods?: readonly string[];
  /** Write the plots, the confusion analyses and overlays (default true). */
  plots?: boolean;
  resume?: boolean;
  progress?: ProgressMode;
  /**
   * Worker pool size (default: one per core). The runs' units (per-class models, joint
   * models) train in parallel, each worker with its own TF.js; the numbers are those of the
   * serial run (1 worker).
   */
  workers?: number;
}

/** The three strategies the demo compares, in table order. */
export const DEMO_RUNS: ReadonlyArray<{ label: string; config: PartialConfig }> = [
  { label: "one-for-one", config: { name: "rd-one-for-one", strategy: "per-class", ccl: null } },
  { label: "joint", config: { name: "rd-joint", strategy: "joint", ccl: null } },
  { label: "joint+CCL", config: { name: "rd-joint-ccl", strategy: "joint", ccl: {} } },
];

/** Settings shared by the three runs of the default demo. */
export const DEMO_BASE: PartialConfig = {
  method: "rd",
  backbone: "small_resnet",
  imageSize: 64,
  epochs: 20,
  batchSize: 16,
  // null: each method's own default learning rate (RD's is 5e-3).
  learningRate: null,
  seed: 0,
};

/** The `--quick` settings. */
export const DEMO_QUICK: PartialConfig = { ...DEMO_BASE, epochs: 4 };

/** One run of the demo: a strategy at a seed, with its config. */
export interface DemoJob {
  label: string;
  seed: number;
  config: PartialConfig;
}

/** What `results/demo/summary.json` holds. */
export interface DemoSummary {
  quick: boolean;
  /** What was run, as the table's title says it. */
  data: string;
  dataRoot: string;
  seeds: number[];
  startedAt: string;
  finishedAt: string;
  seconds: number;
  runs: Array<{
    label: string;
    seed: number;
    name: string;
    mean: RunResult["mean"];
    trainSeconds: number;
    vMeasure?: number;
  }>;
  /** Per strategy, mean and sample sd over seeds of the mean-over-classes metrics. */
  overSeeds: Array<{ label: string; mean: RunResult["mean"]; sd: RunResult["mean"] }>;
  backend: RunResult["backend"];
  config: PartialConfig;
}

/** Where the demo's data comes from, and how to say it in a title. */
export interface DemoData {
  root: string;
  label: string;
}

/**
 * The dataset of the demo: `overrides.data.root` if given (the user's own data), else the
 * synthetic family generated into `.cache/` (the confusable family at the default level unless
 * told otherwise).
 */
export async function demoData(
  options: Pick<DemoOptions, "family" | "confusability"> & { cacheDir?: string },
  base: PartialConfig,
): Promise<DemoData> {
  const root = base.data?.root;
  if (root) {
    if (options.family || options.confusability !== undefined) {
      throw new Error("--family/--confusability choose the synthetic dataset; not with --data");
    }
    return { root, label: `the dataset in ${root}` };
  }
  const family = options.family ?? "confusable";
  if (family === "distinct" && options.confusability !== undefined) {
    throw new Error("--confusability applies to the confusable family only");
  }
  const confusability = family === "confusable"
    ? options.confusability ?? DEFAULT_CONFUSABILITY
    : 0;
  const synth = {
    family,
    confusability,
    size: base.imageSize ?? DEMO_BASE.imageSize!,
    seed: base.data?.syntheticSeed ?? 0,
  };
  const dir = synthCacheDir(synth, options.cacheDir ?? ".cache");
  const info = await ensureSynthDataset(dir, synth);
  const classes = base.data?.classes?.length ?? info.dataset.classes.length;
  return {
    root: dir,
    label: family === "confusable"
      ? `the synthetic confusable dataset (${classes} classes, confusability ${confusability})`
      : `the synthetic distinct dataset (${classes} classes)`,
  };
}

/**
 * Every run of the demo, in order: each seed, each strategy. Each job is independent (own run
 * folder, own config), so they may run in any order or in parallel. `base.textures` goes to the
 * methods that synthesise anomalies only (see {@linkcode texturesNote}).
 *
 * @example
 * ```ts
 * import { demoJobs } from "./demo.ts";
 * const jobs = demoJobs({ textures: "dtd" }, [0], ["rd", "draem"]);
 * if (jobs[0].config.textures !== null || jobs[3].config.textures !== "dtd") throw new Error();
 * ```
 */
export function demoJobs(
  base: PartialConfig,
  seeds: readonly number[],
  methods: readonly string[] = [base.method ?? "rd"],
): DemoJob[] {
  if (seeds.length === 0) throw new Error("the demo needs at least one seed");
  if (new Set(seeds).size !== seeds.length) throw new Error(`repeated seed in ${seeds.join(",")}`);
  if (methods.length === 0) throw new Error("the demo needs at least one method");
  // One method keeps the plain labels and run names of the RD demo.
  const single = methods.length === 1;
  return seeds.flatMap((seed) =>
    methods.flatMap((method) =>
      DEMO_RUNS.map((run) => {
        const name = String(run.config.name).replace(/^rd-/, `${method}-`);
        const textures = base.textures && !SYNTHESIZING_METHODS.includes(method)
          ? { textures: null }
          : {};
        return {
          label: single ? run.label : `${method} ${run.label}`,
          seed,
          config: {
            ...base,
            ...run.config,
            method,
            seed,
            name: `${name}-seed${seed}`,
            ...textures,
          },
        };
      })
    )
  );
}

/**
 * What the demo says about `--textures` for `methods`: a note when some methods do not
 * synthesise anomalies (they run without the folder), an error when none does.
 *
 * @example
 * ```ts
 * import { texturesNote } from "./demo.ts";
 * if (texturesNote("dtd", ["draem"]) !== undefined) throw new Error("all use them");
 * if (!texturesNote("dtd", ["rd", "draem"])?.includes("rd")) throw new Error("rd noted");
 * ```
 */
export function texturesNote(
  textures: string | null | undefined,
  methods: readonly string[],
): string | undefined {
  if (!textures) return undefined;
  const without = methods.filter((m) => !SYNTHESIZING_METHODS.includes(m));
  if (without.length === methods.length) {
    throw new Error(
      `--textures: ${methods.join(", ")} do(es) not synthesise anomalies; the texture folder ` +
        `applies to ${SYNTHESIZING_METHODS.join(", ")} (add them with --methods)`,
    );
  }
  if (without.length === 0) return undefined;
  return `note: --textures applies to ${SYNTHESIZING_METHODS.join(", ")}; ` +
    `${without.join(", ")} run(s) without it (they synthesise no anomalies)`;
}

function meanAndSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1
    ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1))
    : NaN;
  return { mean, sd };
}

/** Per strategy, mean and sample sd over seeds of each mean-over-classes metric. */
export function overSeeds(
  runs: ReadonlyArray<{ label: string; result: RunResult }>,
): DemoSummary["overSeeds"] {
  const labels = [...new Set(runs.map((r) => r.label))];
  return labels.map((label) => {
    const mine = runs.filter((r) => r.label === label);
    const stats = METRIC_NAMES.map((m) =>
      [m, meanAndSd(mine.map((r) => r.result.mean[m]))] as const
    );
    return {
      label,
      mean: Object.fromEntries(stats.map(([m, s]) => [m, s.mean])) as RunResult["mean"],
      sd: Object.fromEntries(stats.map(([m, s]) => [m, s.sd])) as RunResult["mean"],
    };
  });
}

/** The mean-over-classes table: `mean ± sd` over seeds per strategy (%). */
export function seedTable(stats: DemoSummary["overSeeds"], seeds: readonly number[]): string {
  const cell = (mean: number, sd: number) =>
    Number.isFinite(sd) ? `${formatPercent(mean)} ± ${formatPercent(sd)}` : formatPercent(mean);
  const rows = stats.map((s) =>
    `| ${s.label} | ${METRIC_NAMES.map((m) => cell(s.mean[m], s.sd[m])).join(" | ")} |`
  );
  return `Mean over classes, ${
    seeds.length > 1 ? `mean ± sd over seeds ${seeds.join(", ")}` : `seed ${seeds[0]}`
  } (%).\n\n` +
    `| strategy | ${METRIC_NAMES.map((m) => METRIC_LABELS[m]).join(" | ")} |\n` +
    `|---|${METRIC_NAMES.map(() => "---").join("|")}|\n${rows.join("\n")}\n`;
}

/**
 * Runs the three strategies for every seed, prints the comparison and writes `table.md`,
 * `summary.json` and the plots.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const quick = options.quick ?? false;
  const resultsDir = options.resultsDir ?? (quick ? "results/demo-quick" : "results/demo");
  const base: PartialConfig = { ...(quick ? DEMO_QUICK : DEMO_BASE), ...options.overrides };
  const seeds = [...(options.seeds ?? [base.seed ?? 0])];
  const started = new Date();
  const data = await demoData(options, base);
  const methods = [...(options.methods ?? [base.method ?? "rd"])];
  const note = texturesNote(base.textures, methods);
  if (note) console.error(note);
  const jobs = demoJobs({ ...base, data: { ...base.data, root: data.root } }, seeds, methods);
  // Fail on a bad config, a missing file or a corrupt texture before the first run trains.
  for (const job of jobs) assertConfigFilesExist(resolveConfig(job.config));
  if (base.textures) {
    await loadTextureFolder(base.textures, base.imageSize ?? DEMO_BASE.imageSize!);
  }
  const workers = options.workers ?? defaultWorkerCount();
  // One pool for all runs: units of every run queue together, heaviest first.
  const pool = workers > 1 ? new WorkerPool({ workers }) : undefined;
  const results: RunResult[] = [];
  try {
    const run = (job: DemoJob) =>
      runExperiment(job.config, {
        resultsDir,
        resume: options.resume,
        progress: options.progress,
        pool,
      });
    if (pool) {
      // Heaviest runs first, so their units are queued (and started) before the small ones.
      const cost = (job: DemoJob) =>
        (job.config.ccl ? 2.5 : 1) +
        (job.config.strategy === "joint" ? 0.01 : 0);
      const order = jobs.map((_, i) => i).sort((a, b) => cost(jobs[b]) - cost(jobs[a]));
      const running: Promise<RunResult>[] = new Array(jobs.length);
      for (const i of order) running[i] = run(jobs[i]);
      results.push(...await Promise.all(running));
    } else for (const job of jobs) results.push(await run(job));
  } finally {
    pool?.close();
  }
  const finished = new Date();
  const runs = jobs.map((job, i) => ({ ...job, result: results[i] }));
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  const stats = overSeeds(runs);
  const perSeed = seeds.map((seed) => {
    const labelled = runs.filter((r) => r.seed === seed);
    return `## Seed ${seed}\n\n` + metricsTable(labelled) + "\n" + defectTable(labelled) + "\n" +
      clusteringLine(labelled);
  }).join("\n");
  const header =
    `# ${methods.join(", ")} on ${data.label}: one-for-one vs joint vs joint + CCL\n\n` +
    `Backend ${results[0].backend.name}, seeds ${seeds.join(", ")}, ${base.epochs} epochs, ` +
    `${base.imageSize}px, backbone ${base.backbone}` +
    `${
      base.textures ? `, textures from ${base.textures} (${SYNTHESIZING_METHODS.join(", ")})` : ""
    }` +
    `; ${formatDuration(seconds * 1000)} in all ` +
    `(${started.toISOString()} to ${finished.toISOString()}). Each run's folder holds its ` +
    `config, per-epoch log and metrics.\n\n`;
  const table = header + seedTable(stats, seeds) + "\n" + perSeed;
  await writeTextAtomic(join(resultsDir, "table.md"), table);
  const summary: DemoSummary = {
    quick,
    data: data.label,
    dataRoot: data.root,
    seeds,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds,
    runs: runs.map(({ label, seed, result }) => ({
      label,
      seed,
      name: result.config.name,
      mean: result.mean,
      trainSeconds: result.trainSeconds,
      vMeasure: result.units.find((u) => u.classClustering)?.classClustering?.vMeasure,
    })),
    overSeeds: stats,
    backend: results[0].backend,
    config: base,
  };
  await writeJsonAtomic(join(resultsDir, "summary.json"), summary);
  console.log(table);
  if (options.plots !== false) {
    const files = await writeDemoPlots(
      resultsDir,
      runs.map((r) => ({
        label: r.label,
        seed: r.seed,
        runDir: runDirectory(resolveConfig(r.config), resultsDir),
        result: r.result,
      })),
      { dataLabel: data.label },
    );
    console.log(`plots: ${files.length} PNGs under ${resolve(resultsDir)}`);
  }
  return summary;
}

/** Mean over classes of each defect type's I-AUROC, the runs side by side. */
export function defectTable(runs: ReadonlyArray<{ label: string; result: RunResult }>): string {
  const defects = [...new Set(runs.flatMap((run) => Object.keys(run.result.meanByDefect)))].sort();
  const rows = defects.map((defect) =>
    `| ${defect} | ${
      runs.map((run) => formatPercent(run.result.meanByDefect[defect] ?? NaN)).join(" | ")
    } |`
  );
  return `Image-level detection by defect type: I-AUROC of each defect's images against the ` +
    `class's normal test images, mean over the classes that have it (%).\n\n` +
    `| defect | ${runs.map((run) => run.label).join(" | ")} |\n` +
    `|---|${runs.map(() => "---").join("|")}|\n${rows.join("\n")}\n`;
}

/** The V-measure of each jointly trained run's compact features (inter-class confusion). */
export function clusteringLine(runs: ReadonlyArray<{ label: string; result: RunResult }>): string {
  const parts = runs.flatMap((run) => {
    const report = run.result.units.find((u) => u.classClustering)?.classClustering;
    return report ? [`${run.label} ${report.vMeasure.toFixed(3)}`] : [];
  });
  if (parts.length === 0) return "";
  return `Inter-class confusion: V-measure of k-means (k = classes) on the compact (pooled ` +
    `bottleneck) features of the normal test images against their classes (1 = perfectly ` +
    `separated; the paper: 0.77 for RD joint on MVTec AD, 1.0 with CCL): ${parts.join(", ")}.\n`;
}
