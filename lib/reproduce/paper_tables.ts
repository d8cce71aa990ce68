/**
 * The paper's tables as data, copied from `/work/shared/SPEC.md` ("Reference numbers" and
 * "Strategies"): percentages, mean over classes. A cell with no number there has an empty
 * `paper` object; it is still run (the column exists) and shown as "n/a", never filled in.
 * @module
 */
import type { DatasetKey, UnionKey } from "./datasets.ts";

/** The tables `deno task reproduce --table` knows. */
export const TABLE_NAMES = ["main", "strategies", "mixed"] as const;

/** One of {@linkcode TABLE_NAMES}. */
export type TableName = typeof TABLE_NAMES[number];

/** The metrics the paper's tables report. */
export type PaperMetric = "iAuroc" | "pAuroc" | "aupro";

/** Column headers of the metrics, as the paper writes them. */
export const PAPER_METRIC_TITLES: Readonly<Record<PaperMetric, string>> = {
  iAuroc: "I-AUROC",
  pAuroc: "P-AUROC",
  aupro: "AUPRO",
};

/** How classes are trained, as the paper's tables label it. */
export type StrategyLabel = "one-for-one" | "sequential" | "continual" | "joint" | "joint+CCL";

/** A column of a table: a dataset, a union, or the mean over several datasets' columns. */
export type TargetKey = DatasetKey | UnionKey | "avg4";

/** The datasets averaged in the strategies table's "average" column. */
export const AVG4_DATASETS: readonly DatasetKey[] = ["mvtec", "visa", "btad", "realiad"];

/** One number (or triple) of a paper table. */
export interface PaperCell {
  /** Method plug-in name: `rd`, `destseg`, `draem`, `dmad`. */
  method: string;
  strategy: StrategyLabel;
  target: TargetKey;
  /** Percent values; only those the paper reports. */
  paper: Partial<Record<PaperMetric, number>>;
}

/** A table of the paper. */
export interface PaperTable {
  name: TableName;
  title: string;
  /** Where the numbers come from. */
  source: string;
  metrics: PaperMetric[];
  cells: PaperCell[];
}

/** Display names of the methods. */
export const METHOD_TITLES: Readonly<Record<string, string>> = {
  rd: "RD",
  destseg: "DeSTSeg",
  draem: "DRAEM",
  dmad: "DMAD",
};

/** Display names of the columns. */
export const TARGET_TITLES: Readonly<Record<TargetKey, string>> = {
  mvtec: "MVTec AD",
  visa: "VisA",
  btad: "BTAD",
  realiad: "Real-IAD",
  manta: "MANTA",
  "all-in-all": "All-in-all",
  mixed: "MVTec+VisA+BTAD",
  avg4: "mean of MVTec AD, VisA, BTAD, Real-IAD",
};

const cell = (
  method: string,
  strategy: StrategyLabel,
  target: TargetKey,
  i?: number,
  p?: number,
  pro?: number,
): PaperCell => ({
  method,
  strategy,
  target,
  paper: {
    ...(i === undefined ? {} : { iAuroc: i }),
    ...(p === undefined ? {} : { pAuroc: p }),
    ...(pro === undefined ? {} : { aupro: pro }),
  },
});

/** The main table: RD (one-for-one, joint, joint + CCL) and DeSTSeg (joint, + CCL). */
export const MAIN_TABLE: PaperTable = {
  name: "main",
  title: "Main results: RD and DeSTSeg, joint vs joint + CCL",
  source: "SPEC.md, Reference numbers (the paper's main tables)",
  metrics: ["iAuroc", "pAuroc", "aupro"],
  cells: [
    cell("rd", "one-for-one", "mvtec", 98.5, 97.8),
    cell("rd", "one-for-one", "visa", 95.5, 98.6),
    cell("rd", "one-for-one", "btad", 94.6, 98.0),
    cell("rd", "one-for-one", "realiad", 87.6, 94.4),
    cell("rd", "one-for-one", "manta"),
    cell("rd", "joint", "mvtec", 96.5, 95.8),
    cell("rd", "joint", "visa", 93.6, 98.2),
    cell("rd", "joint", "btad", 94.8, 98.0),
    cell("rd", "joint", "realiad", 76.4, 95.7),
    cell("rd", "joint", "manta"),
    cell("rd", "joint+CCL", "mvtec", 99.3, 98.2, 93.6),
    cell("rd", "joint+CCL", "visa", 95.9, 98.5, 92.6),
    cell("rd", "joint+CCL", "btad", 95.7, 98.0, 80.2),
    cell("rd", "joint+CCL", "realiad", 87.6, 98.5, 91.4),
    cell("rd", "joint+CCL", "manta"),
    cell("rd", "joint+CCL", "all-in-all", 90.6, 97.9, 90.6),
    cell("destseg", "joint", "mvtec", 95.6, 92.9),
    cell("destseg", "joint", "visa", 91.5, 90.1),
    cell("destseg", "joint+CCL", "mvtec", 97.6, 94.7),
    cell("destseg", "joint+CCL", "visa", 92.8, 91.6),
  ],
};

const STRATEGY_ORDER: StrategyLabel[] = [
  "one-for-one",
  "sequential",
  "continual",
  "joint",
  "joint+CCL",
];

function strategyRow(
  method: string,
  target: TargetKey,
  pairs: ReadonlyArray<readonly [number, number]>,
): PaperCell[] {
  return STRATEGY_ORDER.map((strategy, k) => cell(method, strategy, target, ...pairs[k]));
}

/** Supplementary Table I: training strategies, I-AUROC / P-AUROC. */
export const STRATEGIES_TABLE: PaperTable = {
  name: "strategies",
  title: "Training strategies: one-for-one, sequential, continual, joint, joint + CCL",
  source: "SPEC.md, Strategies (the paper's supplementary Table I)",
  metrics: ["iAuroc", "pAuroc"],
  cells: [
    ...strategyRow("rd", "mvtec", [
      [98.5, 97.8],
      [78.7, 88.5],
      [81.7, 88.5],
      [96.5, 95.8],
      [99.3, 98.2],
    ]),
    ...strategyRow("rd", "avg4", [
      [94.0, 97.2],
      [74.9, 91.3],
      [76.9, 91.4],
      [90.3, 96.9],
      [94.6, 98.3],
    ]),
    ...strategyRow("destseg", "avg4", [
      [93.8, 94.7],
      [64.5, 76.3],
      [68.5, 78.0],
      [90.7, 90.9],
      [92.5, 92.3],
    ]),
  ],
};

function mixedRow(method: string, values: ReadonlyArray<readonly [number, number]>): PaperCell[] {
  const strategies: StrategyLabel[] = ["one-for-one", "joint", "joint+CCL"];
  return strategies.map((strategy, k) => cell(method, strategy, "mixed", ...values[k]));
}

/** Table 4: four methods on MVTec AD + VisA + BTAD as one 30-class dataset, I/P-AUROC. */
export const MIXED_TABLE: PaperTable = {
  name: "mixed",
  title: "Mixed dataset (MVTec AD + VisA + BTAD, 30 classes): four methods",
  source: "SPEC.md, Mixed MVTec+VisA+BTAD (the paper's Table 4)",
  metrics: ["iAuroc", "pAuroc"],
  cells: [
    ...mixedRow("draem", [[95.5, 93.4], [81.4, 82.1], [88.1, 89.7]]),
    ...mixedRow("dmad", [[96.3, 98.2], [82.9, 95.3], [94.9, 97.7]]),
    ...mixedRow("rd", [[96.9, 98.2], [91.0, 95.9], [96.7, 98.1]]),
    ...mixedRow("destseg", [[96.3, 95.9], [90.4, 84.4], [92.6, 89.4]]),
  ],
};

/** The tables by name. */
export const PAPER_TABLES: Readonly<Record<TableName, PaperTable>> = {
  main: MAIN_TABLE,
  strategies: STRATEGIES_TABLE,
  mixed: MIXED_TABLE,
};

/** The paper table called `name`, or an error listing the known ones. */
export function paperTable(name: string): PaperTable {
  if (!(TABLE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown table "${name}" (known: ${TABLE_NAMES.join(", ")})`);
  }
  return PAPER_TABLES[name as TableName];
}
