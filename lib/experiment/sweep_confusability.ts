/**
 * The confusability sweep: at each confusability level of the confusable synthetic family,
 * generate the data, measure how separable its classes are to the frozen backbone before any
 * training (V-measure of k-means on pooled features of the training normals), then train the
 * demo's three strategies (one-for-one, joint, joint + CCL, with the demo's settings) for each
 * seed, and write one table (markdown + JSON) and one chart: mean I-AUROC and P-AUROC per
 * strategy, and the jointly trained models' V-measure, against the backbone V-measure.
 *
 * Only the data changes between levels; models, epochs and seeds are the same everywhere.
 * @module
 */
import { join } from "@std/path";
import { type BackendInfo, selectBackend } from "../backend/select_backend.ts";
import { ensureSynthDataset, synthCacheDir } from "../data/synth/mod.ts";
import { measureSeparability, type SeparabilityReport } from "../data/synth/measure.ts";
import { type ChartFiles, writeChart } from "../plots/render.ts";
import { sweepChartSpec } from "../plots/sweep_chart.ts";
import { writeJsonAtomic, writeTextAtomic } from "../util/atomic_write.ts";
import { gitRevision } from "../util/git_revision.ts";
import { type PartialConfig, resolveConfig } from "./config.ts";
import { DEMO_BASE, DEMO_RUNS } from "./demo.ts";
import type { ProgressMode } from "./progress.ts";
import { runExperiment, type RunResult } from "./run_experiment.ts";

/** Options of {@linkcode runConfusabilitySweep}. */
export interface SweepOptions {
  /** Confusability levels, each in [0, 1] (default 0, 0.5, 1). */
  levels?: readonly number[];
  /** Training seeds; every strategy is trained once per seed and level (default 0, 1). */
  seeds?: readonly number[];
  /** Output folder (default `results/sweep_confusability`). */
  resultsDir?: string;
  /** Overrides of the demo's settings (epochs, backend, ...), the same for every run. */
  overrides?: PartialConfig;
  /** Seed of the synthetic data (default 0; the same at every level). */
  dataSeed?: number;
  /** Where the generated datasets are cached (default `.cache`). */
  cacheDir?: string;
  /** Reuse runs whose `metrics.json` was made with the same config (default false). */
  resume?: boolean;
  progress?: ProgressMode;
  /** One-line status messages (default `console.error`). */
  log?: (line: string) => void;
}

/** One trained run of the sweep. */
export interface SweepRun {
  level: number;
  seed: number;
  strategy: string;
  name: string;
  iAuroc: number;
  pAuroc: number;
  mAD: number;
  /** Jointly trained runs: V-measure of k-means on the model's compact features. */
  modelVMeasure?: number;
  trainSeconds: number;
}

/** Mean, sample standard deviation (n - 1; 0 for one value) and the values. */
export interface Spread {
  mean: number;
  sd: number;
  values: number[];
}

/** One strategy at one level, over the seeds. */
export interface SweepRow {
  level: number;
  /** Backbone V-measure of the level's training normals (before any training). */
  backboneVMeasure: number;
  strategy: string;
  iAuroc: Spread;
  pAuroc: Spread;
  mAD: Spread;
  /** Jointly trained strategies only. */
  modelVMeasure?: Spread;
}

/** What `sweep.json` holds. */
export interface SweepSummary {
  startedAt: string;
  finishedAt: string;
  seconds: number;
  levels: number[];
  seeds: number[];
  dataSeed: number;
  family: "confusable";
  backend: BackendInfo;
  /** Settings shared by every run (the demo's, with the overrides). */
  config: PartialConfig;
  separability: LevelSeparability[];
  runs: SweepRun[];
  rows: SweepRow[];
  chart?: ChartFiles;
  git?: Awaited<ReturnType<typeof gitRevision>>;
  /** Set by {@linkcode renderSweep}: when the table and chart were last rewritten, by which code. */
  rendered?: { at: string; git?: Awaited<ReturnType<typeof gitRevision>> };
  /** Free-text provenance notes (how the sweep was run). */
  notes?: string[];
}

/**
 * Mean and sample standard deviation.
 *
 * @example
 * ```ts
 * import { spread } from "./sweep_confusability.ts";
 * spread([1, 3]); // { mean: 2, sd: 1.4142135623730951, values: [1, 3] }
 * ```
 */
export function spread(values: readonly number[]): Spread {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, values: [...values] };
}

/** The run name of one strategy at one level and seed. */
export function sweepRunName(level: number, seed: number, baseName: string): string {
  return `c${level}-s${seed}-${baseName}`;
}

function checkLevels(levels: readonly number[]): number[] {
  if (levels.length === 0) throw new Error("sweep: no confusability levels given");
  for (const level of levels) {
    if (!(Number.isFinite(level) && level >= 0 && level <= 1)) {
      throw new Error(`sweep: a confusability level must be in [0, 1], got ${level}`);
    }
  }
  if (new Set(levels).size !== levels.length) {
    throw new Error(`sweep: levels repeat: ${levels.join(", ")}`);
  }
  return [...levels];
}

function checkSeeds(seeds: readonly number[]): number[] {
  if (seeds.length === 0) throw new Error("sweep: no seeds given");
  for (const seed of seeds) {
    if (!(Number.isInteger(seed) && seed >= 0)) {
      throw new Error(`sweep: a seed must be a non-negative integer, got ${seed}`);
    }
  }
  if (new Set(seeds).size !== seeds.length) throw new Error(`sweep: seeds repeat: ${seeds}`);
  return [...seeds];
}

/** Options of {@linkcode measureConfusabilityLevels}. */
export interface LevelMeasureOptions {
  levels: readonly number[];
  /** Seed of the synthetic data (default 0). */
  dataSeed?: number;
  /** Image side (default 64). */
  size?: number;
  /** Backbone spec (default `small_resnet`). */
  backbone?: string;
  /** Where the generated datasets are cached (default `.cache`). */
  cacheDir?: string;
  log?: (line: string) => void;
}

/** The backbone V-measure of one level's training normals, and where its data is. */
export type LevelSeparability = { level: number; dataset: string } & SeparabilityReport;

/**
 * Generates (or reuses) the confusable family's data at each level and measures how
 * separable the classes are to the backbone before any training. Uses the active backend.
 *
 * @example
 * ```ts ignore
 * import { measureConfusabilityLevels } from "./sweep_confusability.ts";
 * const levels = await measureConfusabilityLevels({ levels: [0, 0.5, 1] });
 * console.log(levels.map((l) => l.vMeasure));
 * ```
 */
export async function measureConfusabilityLevels(
  options: LevelMeasureOptions,
): Promise<LevelSeparability[]> {
  const levels = checkLevels(options.levels);
  const size = options.size ?? 64;
  const out: LevelSeparability[] = [];
  for (const level of levels) {
    const synth = {
      family: "confusable" as const,
      confusability: level,
      size,
      seed: options.dataSeed ?? 0,
    };
    const dir = synthCacheDir(synth, options.cacheDir ?? ".cache");
    const info = await ensureSynthDataset(dir, synth);
    const train = info.dataset.records.filter((r) => r.split === "train");
    const report = await measureSeparability(train, { backbone: options.backbone, size });
    out.push({ level, dataset: dir, ...report });
    options.log?.(
      `[sweep] confusability ${level}: backbone V-measure ${report.vMeasure.toFixed(3)}`,
    );
  }
  return out;
}

/** The metrics.json of an earlier run with exactly this config, if there is one. */
async function reusableRun(
  runDir: string,
  config: PartialConfig,
): Promise<RunResult | undefined> {
  let previous: RunResult;
  try {
    previous = JSON.parse(await Deno.readTextFile(join(runDir, "metrics.json")));
  } catch {
    return undefined;
  }
  const wanted = resolveConfig(config);
  return JSON.stringify(previous.config) === JSON.stringify(wanted) ? previous : undefined;
}

/** Groups the runs into rows (one per level and strategy) with spreads over the seeds. */
export function sweepRows(
  runs: readonly SweepRun[],
  backboneVMeasure: ReadonlyMap<number, number>,
  strategies: readonly string[],
): SweepRow[] {
  const levels = [...new Set(runs.map((r) => r.level))].sort((a, b) => a - b);
  return levels.flatMap((level) =>
    strategies.flatMap((strategy) => {
      const group = runs.filter((r) => r.level === level && r.strategy === strategy);
      if (group.length === 0) return [];
      const model = group.flatMap((r) => r.modelVMeasure === undefined ? [] : [r.modelVMeasure]);
      return [{
        level,
        backboneVMeasure: backboneVMeasure.get(level)!,
        strategy,
        iAuroc: spread(group.map((r) => r.iAuroc)),
        pAuroc: spread(group.map((r) => r.pAuroc)),
        mAD: spread(group.map((r) => r.mAD)),
        ...(model.length ? { modelVMeasure: spread(model) } : {}),
      }];
    })
  );
}

function cell(s: Spread | undefined, percent: boolean): string {
  if (!s) return "–";
  const k = percent ? 100 : 1;
  const digits = percent ? 1 : 3;
  const mean = (s.mean * k).toFixed(digits);
  // One seed has no spread: say so rather than print ± 0.
  return s.values.length < 2 ? `${mean} (1 seed)` : `${mean} ± ${(s.sd * k).toFixed(digits)}`;
}

/** How many optimiser steps each model gets: per-class units see only their class's images. */
function stepsNote(summary: SweepSummary): string {
  const first = summary.separability[0];
  const batch = summary.config.batchSize;
  const epochs = summary.config.epochs;
  if (!first || !batch || !epochs) return "";
  const perClass = Math.floor(first.images / first.k);
  const step = (n: number) => n <= batch ? 1 : Math.floor(n / batch);
  return ` Training budget: every model trains ${epochs} epochs at batch ${batch}, so each ` +
    `one-for-one model (${perClass} images) takes ${step(perClass) * epochs} optimiser steps ` +
    `and the joint model (${first.images} images) ${step(first.images) * epochs}.`;
}

/** The sweep as a markdown table (one row per level and strategy). */
export function sweepTable(summary: SweepSummary): string {
  const header = `# RD on the confusable synthetic family: accuracy against confusability\n\n` +
    `Backend ${summary.backend.name}; training seeds ${summary.seeds.join(", ")} (mean ± sd ` +
    `over seeds); data seed ${summary.dataSeed}; ${summary.config.epochs} epochs, ` +
    `${summary.config.imageSize}px, backbone ${summary.config.backbone}, batch ` +
    `${summary.config.batchSize}, lr ${summary.config.learningRate}; ` +
    `${(summary.seconds / 60).toFixed(1)} min in all (${summary.startedAt} to ` +
    `${summary.finishedAt}).\n\n` +
    `Backbone V-measure: k-means (k = classes) on the frozen backbone's pooled features of the ` +
    `training normals, before any training (1 = the backbone alone separates every class). ` +
    `Model V-measure: the same on the jointly trained model's compact features of the normal ` +
    `test images.${stepsNote(summary)}\n\n` +
    (summary.notes?.length ? `Notes: ${summary.notes.join(" ")}\n\n` : "");
  const rows = summary.rows.map((r) =>
    `| ${r.level} | ${r.backboneVMeasure.toFixed(3)} | ${r.strategy} | ${cell(r.iAuroc, true)} | ` +
    `${cell(r.pAuroc, true)} | ${cell(r.mAD, true)} | ${cell(r.modelVMeasure, false)} |`
  );
  return header +
    `| confusability | backbone V | strategy | I-AUROC (%) | P-AUROC (%) | mAD (%) | model V |\n` +
    `|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
}

/**
 * Rewrites `table.md` and the chart of a finished sweep from its `sweep.json` (keeping its
 * runs, times and provenance), e.g. after the table or chart code changed.
 *
 * @example
 * ```ts ignore
 * import { renderSweep } from "./sweep_confusability.ts";
 * await renderSweep("results/sweep_confusability");
 * ```
 */
export async function renderSweep(resultsDir: string, note?: string): Promise<SweepSummary> {
  const path = join(resultsDir, "sweep.json");
  let summary: SweepSummary;
  try {
    summary = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`sweep: cannot read ${path}: ${e instanceof Error ? e.message : e}`);
  }
  if (!Array.isArray(summary.runs) || !Array.isArray(summary.separability)) {
    throw new Error(`sweep: ${path} is not a sweep summary (no runs or separability)`);
  }
  const backboneV = new Map(summary.separability.map((m) => [m.level, m.vMeasure]));
  const strategies = DEMO_RUNS.map((r) => r.label);
  summary.rows = sweepRows(summary.runs, backboneV, strategies);
  summary.rendered = { at: new Date().toISOString(), git: await gitRevision() };
  if (note) summary.notes = [...(summary.notes ?? []), note];
  await writeTextAtomic(join(resultsDir, "table.md"), sweepTable(summary));
  summary.chart = await writeChart(sweepChartSpec(summary.rows), join(resultsDir, "sweep_chart"));
  await writeJsonAtomic(path, summary);
  return summary;
}

/**
 * Runs the sweep and writes `sweep.json`, `table.md` and the chart (`sweep_chart.vl.json`,
 * `.svg`, `.png`) into `resultsDir`, with every run's folder under `resultsDir/runs/`.
 * `sweep.json` and `table.md` are rewritten after every run, so an interrupted sweep leaves
 * what it finished (continue it with `resume`).
 *
 * @example
 * ```ts ignore
 * import { runConfusabilitySweep } from "./sweep_confusability.ts";
 * const summary = await runConfusabilitySweep({ levels: [0, 0.5, 1], seeds: [0, 1] });
 * console.log(summary.rows);
 * ```
 */
export async function runConfusabilitySweep(options: SweepOptions = {}): Promise<SweepSummary> {
  const levels = checkLevels(options.levels ?? [0, 0.5, 1]);
  const seeds = checkSeeds(options.seeds ?? [0, 1]);
  const resultsDir = options.resultsDir ?? join("results", "sweep_confusability");
  const say = options.log ?? ((line: string) => console.error(line));
  const dataSeed = options.dataSeed ?? 0;
  const base: PartialConfig = { ...DEMO_BASE, ...options.overrides };
  const size = base.imageSize ?? 64;
  const started = new Date();
  const backend = await selectBackend({
    requested: base.backend === undefined || base.backend === "auto" ? undefined : base.backend,
    log: false,
  });
  say(`[sweep] backend ${backend.name}; levels ${levels.join(", ")}; seeds ${seeds.join(", ")}`);
  const summary: SweepSummary = {
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
    seconds: 0,
    levels,
    seeds,
    dataSeed,
    family: "confusable",
    backend,
    config: base,
    separability: [],
    runs: [],
    rows: [],
  };
  const backboneV = new Map<number, number>();
  const strategies = DEMO_RUNS.map((r) => r.label);
  const save = async () => {
    const finished = new Date();
    summary.finishedAt = finished.toISOString();
    summary.seconds = (finished.getTime() - started.getTime()) / 1000;
    summary.rows = sweepRows(summary.runs, backboneV, strategies);
    summary.git = await gitRevision();
    await writeJsonAtomic(join(resultsDir, "sweep.json"), summary);
    await writeTextAtomic(join(resultsDir, "table.md"), sweepTable(summary));
  };
  // Data and backbone V-measure of every level first (cheap), then the training runs seed by
  // seed, so that an interrupted sweep has every level for the seeds it finished.
  const datasets = new Map<number, string>();
  const measured = await measureConfusabilityLevels({
    levels,
    dataSeed,
    size,
    backbone: base.backbone,
    cacheDir: options.cacheDir,
    log: say,
  });
  for (const m of measured) {
    backboneV.set(m.level, m.vMeasure);
    datasets.set(m.level, m.dataset);
    summary.separability.push(m);
  }
  for (const seed of seeds) {
    for (const level of levels) {
      for (const run of DEMO_RUNS) {
        const name = sweepRunName(level, seed, run.config.name ?? run.label);
        const config: PartialConfig = {
          ...base,
          ...run.config,
          name,
          seed,
          data: { root: datasets.get(level)! },
        };
        const runsDir = join(resultsDir, "runs");
        const reused = options.resume ? await reusableRun(join(runsDir, name), config) : undefined;
        if (reused) say(`[sweep] ${name}: reusing its metrics.json`);
        const result = reused ?? await runExperiment(config, {
          resultsDir: runsDir,
          resume: options.resume,
          progress: options.progress,
          keepCheckpoints: false,
          log: say,
        });
        const clustering = result.units.find((u) => u.classClustering)?.classClustering;
        summary.runs.push({
          level,
          seed,
          strategy: run.label,
          name,
          iAuroc: result.mean.iAuroc,
          pAuroc: result.mean.pAuroc,
          mAD: result.mean.mAD,
          ...(clustering ? { modelVMeasure: clustering.vMeasure } : {}),
          trainSeconds: result.trainSeconds,
        });
        await save();
      }
    }
  }
  await save();
  summary.chart = await writeChart(
    sweepChartSpec(summary.rows),
    join(resultsDir, "sweep_chart"),
  );
  await writeJsonAtomic(join(resultsDir, "sweep.json"), summary);
  return summary;
}
