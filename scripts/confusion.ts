/**
 * `deno task confusion --run results/<run> [--against results/<other>]`: the confusion
 * analysis of a trained joint run (see lib/analysis/confusion_analysis.ts).
 * @module
 */
import { parseArgs } from "@std/cli";
import { analyseRun, formatAnalysis } from "../lib/analysis/confusion_analysis.ts";

const HELP =
  `deno task confusion --run results/<run> [--against results/<other>] [--out DIR] [--no-umap]

Loads a trained joint run from its checkpoints and measures inter-class confusion:
  - k-means (k = classes) on the model's compact features of the test images: homogeneity,
    completeness, V-measure, NMI, ARI, purity, the Hungarian cluster-to-class mapping and the
    class x cluster table;
  - 2-D embeddings of those features (PCA and UMAP, seeded by the run's seed);
  - reconstruction confusion: the class whose normal prototype each test image's reconstruction
    is nearest to, against its true class; for foreign_class anomalies, whether the pasted region
    is reconstructed toward the host class or left as the pasted one;
  - with --against, per-class metric deltas (this run minus the other).
Writes <run>/confusion/: report.json and charts (.vl.json Vega-Lite v5, .svg, .png).

  --run DIR       the run folder (with config.json, metrics.json and checkpoints/)
  --against DIR   another run folder to compare per-class metrics with
  --out DIR       output folder (default <run>/confusion)
  --no-umap       skip the UMAP embedding`;

if (import.meta.main) {
  try {
    const flags = parseArgs(Deno.args, {
      string: ["run", "against", "out"],
      boolean: ["help", "umap"],
      default: { umap: true },
      negatable: ["umap"],
      alias: { h: "help" },
      unknown: (arg: string) => {
        throw new Error(`unknown argument ${arg} (see --help)`);
      },
    });
    if (flags.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    if (!flags.run) throw new Error("--run DIR is required (see --help)");
    const { analysis, outDir } = await analyseRun(flags.run, {
      against: flags.against,
      outDir: flags.out,
      umap: flags.umap,
    });
    console.log(formatAnalysis(analysis));
    console.log(`wrote ${outDir}/ (report.json, charts as .vl.json, .svg, .png)`);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
