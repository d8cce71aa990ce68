/**
 * `deno task demo`: the main job (see lib/experiment/demo.ts).
 * @module
 */
import { parseCli } from "../lib/experiment/cli.ts";
import { runDemo } from "../lib/experiment/demo.ts";

const HELP =
  `deno task demo [--quick] [--resume] [--epochs N] [--seed N] [--backend NAME] [--results DIR]

Trains RD one-for-one (one model per class), RD joint (one model for all classes) and RD joint
+ CCL on the embedded synthetic dataset (generated into .cache/ on first use) with the shipped
small pretrained backbone, and prints one table: per class and mean, I-AUROC, I-AP, I-F1max,
P-AUROC, P-AP, P-F1max, AUPRO and mAD, the three strategies side by side. Writes
results/demo/ (results/demo-quick/ with --quick).

  --quick     short run (about 2 minutes on 2 cores) instead of about 10
  --resume    continue interrupted runs from their checkpoints`;

if (import.meta.main) {
  try {
    const { config, flags } = await parseCli(Deno.args, ["quick"]);
    if (flags.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    await runDemo({
      quick: flags.quick as boolean,
      resume: flags.resume as boolean,
      resultsDir: flags.results as string | undefined,
      overrides: config,
    });
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
