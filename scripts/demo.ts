/**
 * `deno task demo`: the main job (see lib/experiment/demo.ts).
 * @module
 */
import { parseCli } from "../lib/experiment/cli.ts";
import { runDemo } from "../lib/experiment/demo.ts";
import { METHOD_NAMES } from "../lib/methods/registry.ts";
import { redrawDemoPlots } from "../lib/analysis/demo_plots.ts";
import { parseWorkerCount } from "../lib/parallel/pool.ts";
import { DEFAULT_CONFUSABILITY, requireFamily } from "../lib/data/synth/mod.ts";

const HELP =
  `deno task demo [--quick] [--resume] [--seeds 0,1] [--methods all|rd,draem,...] [--data DIR]
                [--family confusable|distinct] [--confusability X] [--no-plots]
                [--epochs N] [--backend NAME] [--results DIR] [--textures DIR]

Trains RD one-for-one (one model per class), RD joint (one model for all classes) and RD joint
+ CCL with the shipped small pretrained backbone, and prints one table: per class and mean,
I-AUROC, I-AP, I-F1max, P-AUROC, P-AP, P-F1max, AUPRO and mAD, the three strategies side by
side (mean ± sd over seeds with several seeds). By default the data is the embedded synthetic
dataset's confusable family (11 classes that share low-level statistics) at confusability
${DEFAULT_CONFUSABILITY}, generated into .cache/ on first use. Writes results/demo/
(results/demo-quick/ with --quick): table.md, summary.json, one folder per run, plots/
(metric bars, V-measure, loss, ROC/PR), <run>/confusion/ (embeddings, confusion heatmaps,
metric deltas) for the joint runs of the first seed, and overlays/ (one grid per class).

  --quick              short run: 4 epochs instead of 20
  --methods LIST       methods to compare: all, or names (rd, destseg, draem, dmad); default rd;
                       each runs one-for-one, joint and joint + CCL
  --seeds A,B          training seeds (default: --seed, else 0); each runs all three
  --data DIR           your own dataset (MVTec AD / VisA / Real-IAD / folder layout)
                       instead of the synthetic one; the table is titled by it
  --family NAME        synthetic family: confusable (default) or distinct (the 7 easy classes)
  --confusability X    confusable family: 0 (distinct look) .. 1 (near-duplicates)
  --textures DIR       draem, destseg: paste textures from this folder of images (e.g. DTD's
                       images/) into their synthetic anomalies instead of procedural ones;
                       the other methods run without it (a note says so)
  --no-plots           skip plots, confusion analyses and overlays
  --plots-only         draw the plots of a finished demo (--results DIR, default
                       results/demo or, with --quick, results/demo-quick) again
  --resume             continue interrupted runs from their checkpoints
  --workers N          parallel workers, each with its own TF.js (default: one per core);
                       the units of all runs queue together; 1 runs everything serially.
                       The numbers are the same for any N`;

/** Removes `--name value` / `--name=value` for the demo's own flags; returns the rest. */
function takeFlags(
  args: readonly string[],
  names: readonly string[],
): { rest: string[]; values: Record<string, string> } {
  const rest: string[] = [];
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const match = args[i].match(/^--([a-z-]+)(?:=(.*))?$/);
    if (match && names.includes(match[1])) {
      const value = match[2] ?? args[++i];
      if (value === undefined || value === "") throw new Error(`--${match[1]} needs a value`);
      values[match[1]] = value;
    } else {
      rest.push(args[i]);
    }
  }
  return { rest, values };
}

/** `all` or a comma-separated list of known method names. */
function parseMethods(text: string): string[] {
  if (text.trim() === "all") return [...METHOD_NAMES];
  const methods = text.split(",").map((s) => s.trim());
  for (const method of methods) {
    if (!METHOD_NAMES.includes(method)) {
      throw new Error(
        `--methods: unknown method "${method}" (known: ${METHOD_NAMES.join(", ")}, all)`,
      );
    }
  }
  return methods;
}

function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((s) => s.trim());
  return seeds.map((s) => {
    const seed = Number(s);
    if (s === "" || !Number.isInteger(seed) || seed < 0) {
      throw new Error(`--seeds expects non-negative integers separated by commas, got "${text}"`);
    }
    return seed;
  });
}

if (import.meta.main) {
  try {
    const { rest, values } = takeFlags(Deno.args, [
      "seeds",
      "methods",
      "family",
      "confusability",
      "workers",
    ]);
    const { config, flags } = await parseCli(rest, ["quick", "no-plots", "plots-only"]);
    if (flags.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    if (flags["plots-only"]) {
      const dir = (flags.results as string | undefined) ??
        (flags.quick ? "results/demo-quick" : "results/demo");
      const files = await redrawDemoPlots(dir);
      console.log(`plots: ${files.length} PNGs under ${dir}`);
      Deno.exit(0);
    }
    if (values.seeds !== undefined && config.seed !== undefined) {
      throw new Error("give either --seed or --seeds, not both");
    }
    let confusability: number | undefined;
    if (values.confusability !== undefined) {
      confusability = Number(values.confusability);
      if (!(confusability >= 0 && confusability <= 1)) {
        throw new Error(
          `--confusability must be a number in [0, 1], got "${values.confusability}"`,
        );
      }
    }
    await runDemo({
      quick: flags.quick as boolean,
      resume: flags.resume as boolean,
      resultsDir: flags.results as string | undefined,
      overrides: config,
      seeds: values.seeds !== undefined ? parseSeeds(values.seeds) : undefined,
      methods: values.methods !== undefined ? parseMethods(values.methods) : undefined,
      family: values.family !== undefined ? requireFamily(values.family) : undefined,
      confusability,
      plots: !flags["no-plots"],
      workers: parseWorkerCount(values.workers),
    });
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
