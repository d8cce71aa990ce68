/**
 * `deno task strategies`: the paper's supplementary Table I on the embedded data — methods x
 * strategies (one-for-one, sequential, continual, joint, joint + CCL) x seeds — trained through
 * the grid's local executor (`lib/grid`: one `deno task train --config <run>.json --resume`
 * process per run, `--workers` at once), then tabulated from the run folders into `table.md` and
 * `summary.json`: the final model's mean over classes per strategy as mean ± sd over seeds, and
 * for sequential and continual the per-class I-AUROC / P-AUROC after every stage (forgetting),
 * with the paper's numbers beside ours.
 * @module
 */
import { parseArgs } from "@std/cli";
import { basename, join } from "@std/path";
import {
  expandGrid,
  type GridPlan,
  type GridRun,
  type GridSpec,
  localExecutor,
  meanAndSd,
  type MetricSummary,
  readRunStates,
  type RunStatus,
  submitGrid,
} from "../lib/grid/mod.ts";
import { gridLayout } from "../lib/grid/layout.ts";
import type { RunResult } from "../lib/experiment/run_experiment.ts";
import { DEFAULT_CONFIG } from "../lib/experiment/config.ts";
import type { StageRecord } from "../lib/experiment/train_unit.ts";
import { REPLAY_PER_CLASS } from "../lib/experiment/strategies.ts";
import { STRATEGIES_TABLE, type StrategyLabel } from "../lib/reproduce/paper_tables.ts";
import { writeJsonAtomic, writeTextAtomic } from "../lib/util/atomic_write.ts";

/** The strategy axis, in the paper's order (grid preset names). */
export const STRATEGY_AXIS = [
  "per-class",
  "sequential",
  "continual",
  "joint",
  "joint+ccl",
] as const;

/** The order runs are trained in when time may run out: the sequential comparison first. */
const TRAINING_PRIORITY = ["sequential", "continual", "joint", "per-class", "joint+ccl"];

/** The paper's label of each strategy-axis value. */
export const STRATEGY_LABELS: Readonly<Record<string, StrategyLabel>> = {
  "per-class": "one-for-one",
  sequential: "sequential",
  continual: "continual",
  joint: "joint",
  "joint+ccl": "joint+CCL",
};

/** The metrics of the final-model table. */
export const TABLE_METRICS = ["iAuroc", "pAuroc", "aupro", "mAD"] as const;

/** What the grid varies and fixes. */
export interface StrategiesOptions {
  methods: string[];
  seeds: number[];
  /** Classes of the embedded dataset (trained in the dataset's class order). */
  classes: string[];
  epochs: number;
  imageSize: number;
  batchSize: number;
  backend: string;
  backbone: string;
  /** Parent folder of the run folders; its name is the grid's name. */
  resultsDir: string;
}

/** The small settings of the committed run. */
export const DEFAULT_OPTIONS: StrategiesOptions = {
  methods: ["rd", "destseg"],
  seeds: [0, 1],
  classes: ["woven", "pill", "screw"],
  epochs: 4,
  imageSize: 64,
  batchSize: 16,
  backend: "wasm",
  backbone: "small_resnet",
  resultsDir: "results/strategies-small",
};

/**
 * The grid spec of `options`: axes method, strategy, seed; everything else fixed.
 *
 * @example
 * ```ts
 * import { DEFAULT_OPTIONS, strategiesSpec } from "./strategies_table.ts";
 * const spec = strategiesSpec({ ...DEFAULT_OPTIONS, methods: ["rd"] });
 * if (spec.axes.strategy.length !== 5 || spec.name !== "strategies-small") throw new Error();
 * ```
 */
export function strategiesSpec(options: StrategiesOptions): GridSpec {
  return {
    name: basename(options.resultsDir),
    description: "the paper's supplementary Table I (training strategies) on the embedded data",
    axes: { method: options.methods, strategy: [...STRATEGY_AXIS], seed: options.seeds },
    fixed: {
      epochs: options.epochs,
      imageSize: options.imageSize,
      batchSize: options.batchSize,
      backend: options.backend,
      backbone: options.backbone,
      data: { classes: options.classes },
    },
    resultsDir: options.resultsDir,
  };
}

/** The expanded grid of `options` (run names such as `rd_joint-ccl_seed1`). */
export function strategiesPlan(options: StrategiesOptions): GridPlan {
  return expandGrid(strategiesSpec(options));
}

/**
 * The runs in training order: method by method, within a method the sequential comparison
 * (sequential, continual, joint) before per-class and joint + CCL, seeds together, so a grid
 * cut short by time still has both seeds of the strategies it is about.
 */
export function trainingOrder(plan: GridPlan): GridRun[] {
  const methods = plan.spec.axes.method.map(String);
  const key = (run: GridRun) => [
    methods.indexOf(String(run.axes.method)),
    TRAINING_PRIORITY.indexOf(String(run.axes.strategy)),
    run.index,
  ];
  return [...plan.runs].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
}

/** One stage of a sequential or continual run, summarised over the seeds. */
export interface StageSummary {
  index: number;
  className: string;
  /** Training images of the stage (own + replayed; equal over seeds). */
  trainImages: number;
  replayed: number;
  /** Per class: I-AUROC and P-AUROC of the model after this stage, over the seeds. */
  perClass: Record<string, { iAuroc: MetricSummary; pAuroc: MetricSummary }>;
}

/** One row of the final-model table: a method and strategy over its seeds. */
export interface StrategyRow {
  method: string;
  /** The grid's strategy value (`per-class`, ..., `joint+ccl`). */
  strategy: string;
  /** The paper's label (`one-for-one`, ..., `joint+CCL`). */
  label: StrategyLabel;
  /** Done runs (one per seed). */
  runs: string[];
  seeds: number[];
  planned: number;
  /** Mean over classes of the final model; mean ± sample sd over the seeds, in [0, 1]. */
  metrics: Record<(typeof TABLE_METRICS)[number], MetricSummary>;
  /** Training seconds of a run (all its units), over the seeds. */
  trainSeconds: MetricSummary;
  /** The paper's I-AUROC / P-AUROC (%) for this method and strategy, by dataset column. */
  paper: Record<string, { iAuroc?: number; pAuroc?: number }>;
  /** Sequential and continual: the per-stage evaluations (order equal over seeds). */
  stages?: StageSummary[];
}

/** One done run in `summary.json`. */
export interface RunRecord {
  name: string;
  method: string;
  strategy: string;
  seed: number;
  /** Commit (7 characters, "(dirty)" when the tree had changes) or "unknown". */
  commit: string;
  backend: string;
  trainSeconds: number;
  finishedAt: string;
  mean: Record<(typeof TABLE_METRICS)[number], number | null>;
}

/** `summary.json`. */
export interface StrategiesSummary {
  grid: string;
  collectedAt: string;
  settings: {
    classes: string[];
    /** The order of the sequential stages (the dataset's class order). */
    order: string[];
    epochs: number;
    batchSize: number;
    imageSize: number;
    backbone: string;
    /** Backends the done runs used. */
    backends: string[];
    /** Commits (with a dirty flag) of the code that made the done runs. */
    commits: string[];
    replayPerClass: number;
    /** Free text on the machine and its load while training. */
    machine: string;
  };
  rows: StrategyRow[];
  /** Every done run: its seed, code, training time and final mean over classes. */
  runs: RunRecord[];
  /** Runs without results, with their state and reason. */
  missing: { name: string; state: string; reason?: string }[];
  /** Provenance notes, e.g. config keys added to the code after the runs were made. */
  notes: string[];
}

/** A line of `log.jsonl` that ends a stage. */
interface StageLogLine {
  unit: string;
  stage?: StageRecord;
}

/** The stage records of a sequential or continual run's `log.jsonl`, in stage order. */
export async function readStageRecords(runDir: string): Promise<StageRecord[]> {
  const path = join(runDir, "log.jsonl");
  const text = await Deno.readTextFile(path).catch((error) => {
    throw new Error(`${path}: cannot read the stage log: ${(error as Error).message}`);
  });
  const stages: StageRecord[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    let entry: StageLogLine;
    try {
      entry = JSON.parse(line);
    } catch (error) {
      throw new Error(`${path}:${n + 1}: not valid JSON: ${(error as Error).message}`);
    }
    if (entry.stage) stages.push(entry.stage);
  }
  stages.sort((a, b) => a.index - b.index);
  if (stages.length === 0) {
    throw new Error(`${path}: no stage records (a sequential run logs one per class)`);
  }
  stages.forEach((stage, i) => {
    if (stage.index !== i) throw new Error(`${path}: stage ${i + 1} is missing or repeated`);
  });
  return stages;
}

/** Summarises the stages of several seeds' runs of one method and strategy. */
export function summarizeStages(
  perRun: ReadonlyArray<{ name: string; stages: StageRecord[] }>,
): StageSummary[] {
  if (perRun.length === 0) return [];
  const [first] = perRun;
  for (const run of perRun) {
    if (run.stages.map((s) => s.className).join() !== first.stages.map((s) => s.className).join()) {
      throw new Error(
        `runs ${first.name} and ${run.name} trained the classes in different orders ` +
          `(${first.stages.map((s) => s.className)} vs ${run.stages.map((s) => s.className)})`,
      );
    }
  }
  return first.stages.map((stage, i) => {
    const classes = Object.keys(stage.perClass).sort();
    const perClass: StageSummary["perClass"] = {};
    for (const c of classes) {
      const values = (metric: "iAuroc" | "pAuroc") =>
        meanAndSd(perRun.map((run) => {
          const value = run.stages[i].perClass[c]?.[metric];
          if (typeof value !== "number") {
            throw new Error(`run ${run.name}: stage ${i + 1} has no ${metric} for class ${c}`);
          }
          return value;
        }));
      perClass[c] = { iAuroc: values("iAuroc"), pAuroc: values("pAuroc") };
    }
    return {
      index: stage.index,
      className: stage.className,
      trainImages: stage.trainImages,
      replayed: stage.replayed,
      perClass,
    };
  });
}

/** The paper's Table I numbers for `method` under `label`, by column title. */
function paperNumbers(method: string, label: StrategyLabel): StrategyRow["paper"] {
  const out: StrategyRow["paper"] = {};
  for (const cell of STRATEGIES_TABLE.cells) {
    if (cell.method === method && cell.strategy === label) out[cell.target] = { ...cell.paper };
  }
  return out;
}

/**
 * Tabulates the grid's run folders: every done run (its `metrics.json` made by the run's config)
 * and, for sequential and continual, its `log.jsonl` stage records. Runs not done are listed.
 */
export async function collectStrategies(
  plan: GridPlan,
  machine = "",
  statuses?: readonly RunStatus[],
): Promise<StrategiesSummary> {
  const read = statuses ? { statuses, notes: [] } : await readStatesAcceptingAddedDefaults(plan);
  const states = read.statuses;
  const stateOf = new Map(states.map((s) => [s.name, s]));
  const layout = gridLayout(plan);
  const rows: StrategyRow[] = [];
  const records: RunRecord[] = [];
  let datasetOrder: string[] = [];
  const missing: StrategiesSummary["missing"] = [];
  for (const method of plan.spec.axes.method.map(String)) {
    for (const strategy of plan.spec.axes.strategy.map(String)) {
      const runs = plan.runs.filter((r) =>
        r.axes.method === method && r.axes.strategy === strategy
      );
      const done: { run: GridRun; result: RunResult }[] = [];
      for (const run of runs) {
        const status = stateOf.get(run.name);
        if (status?.state === "done" && status.result) {
          done.push({ run, result: status.result });
        } else {
          missing.push({
            name: run.name,
            state: status?.state ?? "missing",
            ...(status?.reason ? { reason: status.reason } : {}),
          });
        }
      }
      records.push(...done.map(({ run, result }) => runRecord(run, result)));
      if (!datasetOrder.length && done[0]?.result.dataset) {
        datasetOrder = [...done[0].result.dataset.classes];
      }
      const metric = (name: (typeof TABLE_METRICS)[number]) =>
        meanAndSd(done.map((d) => d.result.mean[name]).filter(Number.isFinite));
      const label = STRATEGY_LABELS[strategy];
      const row: StrategyRow = {
        method,
        strategy,
        label,
        runs: done.map((d) => d.run.name),
        seeds: done.map((d) => d.result.seed),
        planned: runs.length,
        metrics: Object.fromEntries(TABLE_METRICS.map((m) => [m, metric(m)])) as StrategyRow[
          "metrics"
        ],
        trainSeconds: meanAndSd(done.map((d) => d.result.trainSeconds)),
        paper: paperNumbers(method, label),
      };
      if (strategy === "sequential" || strategy === "continual") {
        const perRun = [];
        for (const { run } of done) {
          perRun.push({ name: run.name, stages: await readStageRecords(layout.runDir(run.name)) });
        }
        row.stages = summarizeStages(perRun);
      }
      rows.push(row);
    }
  }
  const fixed = plan.runs[0].config;
  const staged = rows.find((r) => r.stages?.length)?.stages;
  const distinct = (values: string[]) => [...new Set(values)].sort();
  return {
    grid: plan.spec.name,
    collectedAt: new Date().toISOString(),
    settings: {
      classes: [...(fixed.data.classes ?? [])],
      order: staged ? staged.map((s) => s.className) : datasetOrder,
      epochs: fixed.epochs,
      batchSize: fixed.batchSize,
      imageSize: fixed.imageSize,
      backbone: fixed.backbone,
      backends: distinct(records.map((r) => r.backend)),
      commits: distinct(records.map((r) => r.commit)),
      replayPerClass: REPLAY_PER_CLASS,
      machine,
    },
    rows,
    runs: records,
    missing,
    notes: read.notes,
  };
}

/**
 * The keys a run's recorded config lacks where `wanted` holds the default: config keys the code
 * gained after the run was made (their default is the behaviour the run had). Empty when the
 * configs differ in anything else, or not at all.
 */
export function addedDefaultKeys(
  recorded: Record<string, unknown>,
  wanted: Record<string, unknown>,
): string[] {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(wanted)])];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const added: string[] = [];
  for (const key of keys) {
    if (key === "name" || same(sorted(recorded[key]), sorted(wanted[key]))) continue;
    const defaults = DEFAULT_CONFIG as unknown as Record<string, unknown>;
    if (!(key in recorded) && key in defaults && same(wanted[key], defaults[key])) {
      added.push(key);
    } else {
      return [];
    }
  }
  return added;
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => [k, sorted(v)]),
    );
  }
  return value;
}

/**
 * The grid's run states, where a run the grid calls stale only because the code gained config
 * keys since it was made (absent in its config, the default now) counts as done, with a note.
 */
export async function readStatesAcceptingAddedDefaults(
  plan: GridPlan,
): Promise<{ statuses: RunStatus[]; notes: string[] }> {
  const layout = gridLayout(plan);
  const added = new Map<string, string[]>();
  const statuses = await Promise.all((await readRunStates(plan)).map(async (status) => {
    if (status.state !== "stale") return status;
    const run = plan.runs.find((r) => r.name === status.name)!;
    const path = join(layout.runDir(run.name), "metrics.json");
    const result = JSON.parse(await Deno.readTextFile(path)) as RunResult;
    const keys = addedDefaultKeys(
      result.config as unknown as Record<string, unknown>,
      run.config as unknown as Record<string, unknown>,
    );
    if (keys.length === 0) return status;
    for (const key of keys) added.set(key, [...(added.get(key) ?? []), run.name]);
    return { name: status.name, state: "done" as const, result };
  }));
  const notes = [...added].map(([key, runs]) =>
    `${runs.length} runs were made before the config key \`${key}\` existed; ` +
    `it is read as its default (${
      JSON.stringify(DEFAULT_CONFIG[key as keyof typeof DEFAULT_CONFIG])
    }).`
  );
  return { statuses, notes };
}

function runRecord(run: GridRun, result: RunResult): RunRecord {
  const git = result.software?.git;
  return {
    name: run.name,
    method: String(run.axes.method),
    strategy: String(run.axes.strategy),
    seed: result.seed,
    commit: git ? `${git.commit.slice(0, 7)}${git.dirty ? " (dirty)" : ""}` : "unknown",
    backend: result.backend?.name ?? "unknown",
    trainSeconds: result.trainSeconds,
    finishedAt: result.finishedAt,
    mean: Object.fromEntries(
      TABLE_METRICS.map((m) => [m, Number.isFinite(result.mean[m]) ? result.mean[m] : null]),
    ) as RunRecord["mean"],
  };
}

const pct = (value: number | null, digits = 1) =>
  value === null ? "—" : (value * 100).toFixed(digits);

/** `mean ± sd` (in percent when `percent`; `mean` alone for one seed, `—` for none). */
function meanSd(summary: MetricSummary, percent = true, digits = 1): string {
  if (summary.mean === null) return "—";
  const show = (v: number) => (percent ? v * 100 : v).toFixed(digits);
  return summary.sd === null ? show(summary.mean) : `${show(summary.mean)} ± ${show(summary.sd)}`;
}

function paperPair(paper: StrategyRow["paper"], target: string): string {
  const cell = paper[target];
  const show = (v?: number) => v === undefined ? "—" : v.toFixed(1);
  return cell ? `${show(cell.iAuroc)} / ${show(cell.pAuroc)}` : "—";
}

const METHOD_NAMES: Record<string, string> = { rd: "RD", destseg: "DeSTSeg" };

/** The summary as markdown: settings, the final-model table, the stage tables, missing runs. */
export function strategiesMarkdown(summary: StrategiesSummary): string {
  const s = summary.settings;
  const lines = [
    "# Training strategies (the paper's supplementary Table I), small runs — NOT a reproduction",
    "",
    `Embedded synthetic dataset (default family), classes ${s.classes.join(", ")}; sequential ` +
    `order ${s.order.join(" → ")} (the dataset's class order, recorded in each stage's log ` +
    `entry); ${s.imageSize} px; ${s.epochs} epochs per model (per class, per stage, or joint); ` +
    `batch ${s.batchSize}; backbone ${s.backbone}; backend ${s.backends.join(", ") || "—"}; ` +
    `commit ${s.commits.join(", ") || "—"}. \`continual\` = sequential + replay of ` +
    `${s.replayPerClass} fixed normal training images of every earlier class in each stage. ` +
    `Each model trains ${s.epochs} epochs over its own training images: a one-for-one model ` +
    `over one class, the sequential model per stage, the joint model over all classes. ` +
    `Method defaults, CCL defaults, no tuning. ${s.machine}`.trim(),
    "",
    "The paper's numbers are RD / DeSTSeg with WideResNet-50-2 / ResNet-18 at 256 px for 100-200 " +
    "epochs on real data: they are printed beside ours for orientation, not as targets.",
    "",
    "## Final model, mean over classes (%): mean ± sd over seeds",
    "",
    "| method | strategy | seeds | I-AUROC | P-AUROC | AUPRO | mAD | train s | paper MVTec AD I / P | paper mean of 4 datasets I / P |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of summary.rows) {
    lines.push(
      `| ${METHOD_NAMES[row.method] ?? row.method} | ${row.label} | ${row.seeds.join(", ") || "—"}${
        row.runs.length < row.planned ? ` (${row.runs.length}/${row.planned})` : ""
      } | ${TABLE_METRICS.map((m) => meanSd(row.metrics[m])).join(" | ")} | ${
        meanSd(row.trainSeconds, false, 0)
      } | ${paperPair(row.paper, "mvtec")} | ${paperPair(row.paper, "avg4")} |`,
    );
  }
  lines.push(
    "",
    "## After each stage: per-class I-AUROC / P-AUROC (%), mean over seeds (forgetting)",
    "",
    "The last stage is the final model. Per-seed values are in `summary.json`.",
  );
  for (const row of summary.rows.filter((r) => r.stages?.length)) {
    const classes = Object.keys(row.stages![0].perClass);
    lines.push(
      "",
      `### ${METHOD_NAMES[row.method] ?? row.method} ${row.label} (seeds ${row.seeds.join(", ")})`,
      "",
      `| stage | trained on | train images (replayed) | ${classes.join(" | ")} |`,
      `|---|---|---|${classes.map(() => "---").join("|")}|`,
    );
    for (const stage of row.stages!) {
      const cells = classes.map((c) => {
        const { iAuroc, pAuroc } = stage.perClass[c];
        return `${pct(iAuroc.mean, 0)} / ${pct(pAuroc.mean, 0)}`;
      });
      lines.push(
        `| ${stage.index + 1} | ${stage.className} | ${stage.trainImages} (${stage.replayed}) | ${
          cells.join(" | ")
        } |`,
      );
    }
  }
  if (summary.notes.length) lines.push("", ...summary.notes.map((note) => `Note: ${note}`));
  if (summary.missing.length) {
    lines.push("", "## Runs without results", "", "| run | state | reason |", "|---|---|---|");
    for (const run of summary.missing) {
      lines.push(`| ${run.name} | ${run.state} | ${(run.reason ?? "").replaceAll("|", "\\|")} |`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Writes `table.md` and `summary.json` into the grid's results folder (atomically). */
export async function writeStrategies(
  plan: GridPlan,
  summary: StrategiesSummary,
): Promise<{ markdown: string; json: string }> {
  const files = {
    markdown: join(plan.resultsDir, "table.md"),
    json: join(plan.resultsDir, "summary.json"),
  };
  await writeTextAtomic(files.markdown, strategiesMarkdown(summary));
  await writeJsonAtomic(files.json, summary);
  return files;
}

const HELP = `deno task strategies [--methods rd,destseg] [--seeds 0,1] [--classes a,b,c]
  [--epochs N] [--size PX] [--batch N] [--backend NAME] [--backbone SPEC] [--workers N]
  [--results DIR] [--resume] [--table-only] [--note TEXT]

Trains methods x strategies (per-class = one-for-one, sequential, continual, joint,
joint+ccl) x seeds on the embedded synthetic dataset as a grid (lib/grid, local executor:
one 'deno task train' process per run, --workers at once) into DIR/<method>_<strategy>_seed<S>/,
then writes DIR/table.md and DIR/summary.json from the run folders: the final model's mean
over classes per strategy (mean ± sd over seeds: I-AUROC, P-AUROC, AUPRO, mAD, train seconds)
with the paper's Table I beside it, and per-stage per-class I-AUROC / P-AUROC of the
sequential and continual runs.

  --methods M,M     methods (default rd,destseg)
  --seeds S,S       training seeds (default 0,1)
  --classes a,b,c   classes of the embedded dataset (default woven,pill,screw)
  --epochs N        epochs per model / stage (default 4)
  --size PX         image size (default 64)
  --batch N         batch size (default 16)
  --backend NAME    TF.js backend (default wasm)
  --backbone SPEC   backbone (default small_resnet)
  --workers N       training processes at once (default 1)
  --results DIR     results folder (default results/strategies-small)
  --resume          complete a grid: finished runs are kept, interrupted ones continue
  --table-only      only tabulate the run folders (no training)
  --note TEXT       machine and load note for the settings line
  -h, --help        this text`;

function list(flag: string, text: string): string[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw new Error(`--${flag}: empty item in "${text}"`);
  return parts;
}

function integer(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || n < min) {
    throw new Error(`--${flag} must be an integer >= ${min}, got "${text}"`);
  }
  return n;
}

/** The machine note: CPUs and the load average now. */
function loadNote(): string {
  const [one, five] = Deno.loadavg();
  return `${navigator.hardwareConcurrency} CPUs, load average ${one.toFixed(1)} / ${
    five.toFixed(1)
  } (1 / 5 min)`;
}

async function main(args: string[]): Promise<number> {
  const flags = parseArgs(args, {
    string: [
      "methods",
      "seeds",
      "classes",
      "epochs",
      "size",
      "batch",
      "backend",
      "backbone",
      "workers",
      "results",
      "note",
    ],
    boolean: ["help", "resume", "table-only"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      throw new Error(`unknown argument ${arg}; see --help`);
    },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const options: StrategiesOptions = {
    ...DEFAULT_OPTIONS,
    ...(flags.methods ? { methods: list("methods", flags.methods) } : {}),
    ...(flags.seeds
      ? { seeds: list("seeds", flags.seeds).map((s) => integer("seeds", s, 0)) }
      : {}),
    ...(flags.classes ? { classes: list("classes", flags.classes) } : {}),
    ...(flags.epochs ? { epochs: integer("epochs", flags.epochs, 1) } : {}),
    ...(flags.size ? { imageSize: integer("size", flags.size, 1) } : {}),
    ...(flags.batch ? { batchSize: integer("batch", flags.batch, 1) } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.backbone ? { backbone: flags.backbone } : {}),
    ...(flags.results ? { resultsDir: flags.results } : {}),
  };
  const workers = flags.workers ? integer("workers", flags.workers, 1) : 1;
  const plan = strategiesPlan(options);
  const notes: string[] = [];
  if (!flags["table-only"]) {
    const started = (await readRunStates(plan)).filter((s) => s.state !== "missing");
    if (started.length && !flags.resume) {
      throw new Error(
        `${plan.resultsDir} already holds ${started.length} of this grid's runs ` +
          `(${started.map((s) => `${s.name}: ${s.state}`).join(", ")}); ` +
          `--resume completes the grid, --table-only re-tabulates it`,
      );
    }
    notes.push(`Load when training started: ${loadNote()}.`);
    const report = await submitGrid(
      { ...plan, runs: trainingOrder(plan) },
      localExecutor({ workers }),
      { specPath: "scripts/strategies_table.ts" },
    );
    for (const line of report.lines) console.error(line);
    notes.push(`At the end: ${loadNote()}.`);
  }
  const note = [
    flags.note ?? "Times are wall-clock training seconds on a shared machine (see the note).",
    ...notes,
  ].join(" ");
  const summary = await collectStrategies(plan, note);
  const files = await writeStrategies(plan, summary);
  console.log(strategiesMarkdown(summary));
  console.error(`wrote ${files.markdown}, ${files.json}`);
  return summary.missing.some((m) => m.state === "failed" || m.state === "stale") ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
