/**
 * The demo's pictures: per-class metric bars (strategies side by side, mean ± sd over seeds),
 * V-measure per strategy, training-loss curves, ROC and PR curves per class, and, from the
 * first seed's checkpoints, the confusion analysis (embeddings, heatmaps, deltas) and anomaly
 * overlays.
 * @module
 */
import { join } from "@std/path";
import type { RunResult } from "../experiment/run_experiment.ts";
import { METRIC_LABELS, type MetricName } from "../metrics/metric_names.ts";
import { type MetricBar, metricBarsChart, vMeasureChart } from "../plots/charts.ts";
import { curvesChart, lossChart, parseLog, type ScoredImage } from "../plots/curves.ts";
import { writeChart } from "../plots/render.ts";
import { analyseRun, formatAnalysis } from "./confusion_analysis.ts";
import { writeRunOverlays } from "./run_overlays.ts";

/** One finished run of the demo. */
export interface DemoRun {
  /** Strategy label, e.g. `joint+CCL`. */
  label: string;
  seed: number;
  runDir: string;
  result: RunResult;
}

/** Options of {@linkcode writeDemoPlots}. */
export interface DemoPlotOptions {
  /** What was run, for titles (e.g. `synthetic confusable (c = 0.75)`). */
  dataLabel: string;
  /** Also analyse the first seed's joint models and draw overlays (default true). */
  analysis?: boolean;
  log?: (line: string) => void;
}

function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1
    ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1))
    : 0;
  return { mean, sd };
}

/** Per class and metric, mean and sample standard deviation over seeds, per strategy. */
export function metricBars(
  runs: readonly DemoRun[],
  metrics: readonly MetricName[] = ["iAuroc", "pAuroc", "aupro"],
): MetricBar[] {
  const labels = [...new Set(runs.map((r) => r.label))];
  const classes = [...new Set(runs.flatMap((r) => Object.keys(r.result.perClass)))].sort();
  const bars: MetricBar[] = [];
  for (const metric of metrics) {
    for (const className of [...classes, "mean"]) {
      for (const label of labels) {
        const values = runs.filter((r) => r.label === label).map((r) =>
          className === "mean" ? r.result.mean[metric] : r.result.perClass[className]?.[metric]
        ).filter((v): v is number => Number.isFinite(v));
        if (values.length === 0) continue;
        bars.push({
          className,
          strategy: label,
          metric: METRIC_LABELS[metric],
          ...meanSd(values),
          seeds: values.length,
        });
      }
    }
  }
  return bars;
}

async function readPredictions(runDir: string): Promise<ScoredImage[]> {
  const path = join(runDir, "predictions.json");
  const rows = JSON.parse(await Deno.readTextFile(path));
  if (!Array.isArray(rows)) throw new Error(`${path}: expected an array of predictions`);
  return rows;
}

/** Writes every demo chart into `<outDir>/plots/` (and the analyses beside the runs). */
export async function writeDemoPlots(
  outDir: string,
  runs: readonly DemoRun[],
  options: DemoPlotOptions,
): Promise<string[]> {
  const say = options.log ?? ((line: string) => console.error(line));
  const plots = join(outDir, "plots");
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const first = runs.filter((r) => r.seed === seeds[0]);
  const labels = [...new Set(runs.map((r) => r.label))];
  const seedText = seeds.length > 1
    ? `mean ± sd over seeds ${seeds.join(", ")}`
    : `seed ${seeds[0]}`;
  const files: string[] = [];
  const write = async (name: string, spec: Parameters<typeof writeChart>[0]) => {
    files.push((await writeChart(spec, join(plots, name))).png);
  };
  const methods = [...new Set(runs.map((r) => r.result.config.method))];
  await write(
    "metrics",
    metricBarsChart(metricBars(runs), {
      title: {
        text: `${methods.map((m) => m.toUpperCase()).join(", ")} per class`,
        subtitle: `${options.dataLabel}; ${seedText}`,
      },
      strategies: labels,
    }),
  );
  const vPoints = runs.flatMap((r) => {
    const report = r.result.units.find((u) => u.classClustering)?.classClustering;
    return report ? [{ strategy: r.label, seed: r.seed, vMeasure: report.vMeasure }] : [];
  });
  if (vPoints.length > 0) {
    await write(
      "v_measure",
      vMeasureChart(vPoints, {
        colorDomain: labels,
        title: {
          text: "V-measure of k-means on compact features",
          subtitle: `normal test images, k = classes; ${seedText}`,
        },
      }),
    );
  }
  const logs = await Promise.all(first.map(async (r) => ({
    strategy: r.label,
    log: parseLog(
      await Deno.readTextFile(join(r.runDir, "log.jsonl")),
      join(r.runDir, "log.jsonl"),
    ),
  })));
  await write("loss", lossChart(logs, { title: `Training loss per epoch, seed ${seeds[0]}` }));
  const scored = await Promise.all(
    first.map(async (r) => ({ strategy: r.label, images: await readPredictions(r.runDir) })),
  );
  await write(
    "roc",
    curvesChart(scored, "roc", { title: `Image-level ROC per class, seed ${seeds[0]}` }),
  );
  await write(
    "pr",
    curvesChart(scored, "pr", { title: `Image-level PR per class, seed ${seeds[0]}` }),
  );
  if (options.analysis !== false) {
    // Per method: a multi-method demo labels its runs "<method> <strategy>".
    for (const method of methods) {
      const mine = first.filter((r) => r.result.config.method === method);
      const prefix = methods.length > 1 ? `${method} ` : "";
      const byLabel = new Map(mine.map((r) => [r.label, r]));
      const pairs: Array<[string, string]> = [
        ["joint", "one-for-one"],
        ["joint+CCL", "joint"],
      ];
      for (const [label, against] of pairs) {
        const run = byLabel.get(prefix + label);
        if (!run) continue;
        const { analysis, files: written } = await analyseRun(run.runDir, {
          against: byLabel.get(prefix + against)?.runDir,
          log: say,
        });
        say(formatAnalysis(analysis));
        files.push(...written.filter((f) => f.endsWith(".png")));
      }
      const overlayRun = byLabel.get(prefix + "joint+CCL") ?? byLabel.get(prefix + "joint");
      if (overlayRun) {
        files.push(
          ...await writeRunOverlays(overlayRun.runDir, {
            outDir: methods.length > 1
              ? join(outDir, "overlays", method)
              : join(outDir, "overlays"),
            log: say,
          }),
        );
      }
    }
  }
  return files;
}

/**
 * Draws the plots of a finished demo again from its folder (`summary.json` and each run's
 * `metrics.json`; the analyses and overlays need the runs' checkpoints).
 */
export async function redrawDemoPlots(
  outDir: string,
  options: Omit<DemoPlotOptions, "dataLabel"> = {},
): Promise<string[]> {
  const path = join(outDir, "summary.json");
  let summary: { data?: string; runs?: Array<{ label: string; seed: number; name: string }> };
  try {
    summary = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new Error(`${path}: cannot read the demo's summary (${(error as Error).message})`);
  }
  if (!Array.isArray(summary.runs) || typeof summary.data !== "string") {
    throw new Error(`${path}: not a summary of this demo version (no "runs" with seeds, "data")`);
  }
  const runs: DemoRun[] = [];
  for (const run of summary.runs) {
    const runDir = join(outDir, run.name);
    const result = JSON.parse(await Deno.readTextFile(join(runDir, "metrics.json")));
    runs.push({ label: run.label, seed: run.seed, runDir, result });
  }
  return await writeDemoPlots(outDir, runs, { ...options, dataLabel: summary.data });
}
