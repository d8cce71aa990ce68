/**
 * `deno task sweep-confusability`: RD one-for-one / joint / joint + CCL on the confusable
 * synthetic family at several confusability levels (see lib/experiment/sweep_confusability.ts).
 * @module
 */
import { parseArgs } from "@std/cli";
import { DEMO_BASE } from "../lib/experiment/demo.ts";
import type { PartialConfig } from "../lib/experiment/config.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { DEFAULT_SYNTH_OPTIONS } from "../lib/data/synth/mod.ts";
import {
  measureConfusabilityLevels,
  renderSweep,
  runConfusabilitySweep,
  sweepTable,
} from "../lib/experiment/sweep_confusability.ts";
import { writeJsonAtomic } from "../lib/util/atomic_write.ts";
import { gitRevision } from "../lib/util/git_revision.ts";

const HELP = `deno task sweep-confusability [--levels 0,0.5,1] [--seeds 0,1] [--epochs N]
  [--backend NAME] [--results DIR] [--data-seed N] [--resume]
deno task sweep-confusability --measure-only [--levels L,L] [--report FILE]
deno task sweep-confusability --render-only [--results DIR] [--note TEXT]

At each confusability level of the confusable synthetic family (0 = distinct-looking classes,
1 = near-duplicates): generates the data (cached in .cache/), measures how separable its classes
are to the shipped backbone before any training (V-measure of k-means, k = classes, on pooled
features of the training normals), and trains RD one-for-one, joint and joint + CCL with the
demo's settings once per seed. Writes results/sweep_confusability/: table.md and sweep.json
(mean ± sd over seeds per level and strategy), sweep_chart.{vl.json,svg,png}, runs/<run>/.

  --levels L,L       confusability levels in [0, 1] (default 0,0.5,1)
  --seeds S,S        training seeds (default 0,1)
  --epochs N         epochs of every run (default: the demo's, ${DEMO_BASE.epochs})
  --backend NAME     TF.js backend (default: automatic)
  --results DIR      output folder (default results/sweep_confusability)
  --data-seed N      seed of the synthetic data, the same at every level (default 0)
  --resume           reuse finished runs (same config) and continue interrupted ones
  --measure-only     only generate the data and measure the backbone V-measure per level
                     (no training); writes --report (default results/synth_confusability.json)
  --render-only      rewrite table.md and the chart of a finished sweep from its sweep.json
  --note TEXT        with --render-only: a provenance note added to sweep.json and table.md
  -h, --help         show this help`;

function numberList(flag: string, text: string, integer: boolean): number[] {
  const parts = text.split(",").map((p) => p.trim());
  return parts.map((p) => {
    const x = Number(p);
    if (p === "" || !Number.isFinite(x) || (integer && !Number.isInteger(x))) {
      throw new Error(
        `--${flag} takes a comma-separated list of ${integer ? "integers" : "numbers"}, ` +
          `got "${text}"`,
      );
    }
    return x;
  });
}

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new Error(`--${flag} must be a positive integer, got "${text}"`);
  }
  return Number(text);
}

async function main(args: string[]): Promise<number> {
  const flags = parseArgs(args, {
    string: ["levels", "seeds", "epochs", "backend", "results", "data-seed", "report", "note"],
    boolean: ["help", "resume", "measure-only", "render-only"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      throw new Error(`unknown argument ${arg}; see --help`);
    },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const overrides: PartialConfig = {};
  const epochs = positiveInteger("epochs", flags.epochs);
  if (epochs !== undefined) overrides.epochs = epochs;
  if (flags.backend !== undefined) overrides.backend = flags.backend;
  const dataSeed = flags["data-seed"] === undefined
    ? undefined
    : numberList("data-seed", flags["data-seed"], true)[0];
  const levels = flags.levels === undefined ? undefined : numberList("levels", flags.levels, false);
  if (flags["render-only"]) {
    const summary = await renderSweep(flags.results ?? "results/sweep_confusability", flags.note);
    console.log(sweepTable(summary));
    return 0;
  }
  if (flags["measure-only"]) {
    await measureOnly(levels ?? [0, 0.25, 0.5, 0.75, 1], dataSeed ?? 0, flags);
    return 0;
  }
  const summary = await runConfusabilitySweep({
    levels,
    seeds: flags.seeds === undefined ? undefined : numberList("seeds", flags.seeds, true),
    resultsDir: flags.results,
    overrides,
    dataSeed,
    resume: flags.resume,
  });
  console.log(sweepTable(summary));
  if (summary.chart) console.log(`chart: ${summary.chart.png}`);
  return 0;
}

/** Backbone V-measure per level, written to a JSON report with backend, seeds and times. */
async function measureOnly(
  levels: number[],
  dataSeed: number,
  flags: { backend?: string; report?: string },
): Promise<void> {
  const started = new Date();
  const backend = await selectBackend({ requested: flags.backend, log: false });
  const measured = await measureConfusabilityLevels({
    levels,
    dataSeed,
    size: DEMO_BASE.imageSize,
    backbone: DEMO_BASE.backbone,
    log: (line) => console.error(line),
  });
  const finished = new Date();
  const report = {
    what: "V-measure of k-means (k = classes, seed 0, best of 10 restarts) on the backbone's " +
      "pooled last-stage features (L2-normalised) of the training normals of the confusable " +
      "synthetic family, per confusability level, before any training",
    family: "confusable",
    dataSeed,
    trainPerClass: DEFAULT_SYNTH_OPTIONS.trainPerClass,
    imageSize: DEMO_BASE.imageSize,
    backbone: DEMO_BASE.backbone,
    backend,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    git: await gitRevision(),
    levels: measured,
  };
  const path = flags.report ?? "results/synth_confusability.json";
  await writeJsonAtomic(path, report);
  console.log("| confusability | V-measure | homogeneity | completeness | ARI |");
  console.log("|---|---|---|---|---|");
  for (const m of measured) {
    console.log(
      `| ${m.level} | ${m.vMeasure.toFixed(3)} | ${m.homogeneity.toFixed(3)} | ` +
        `${m.completeness.toFixed(3)} | ${m.adjustedRandIndex.toFixed(3)} |`,
    );
  }
  console.log(`-> ${path}`);
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`sweep-confusability: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
