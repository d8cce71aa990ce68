/**
 * `deno task train`: trains and evaluates one experiment config.
 * @module
 */
import { CONFIG_FLAGS_HELP, parseCli } from "../lib/experiment/cli.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { metricsTable } from "../lib/experiment/results_table.ts";

const HELP = `deno task train [flags]

Trains a method (optionally with CCL) per class or jointly, evaluates it (I-AUROC, I-AP,
I-F1max, P-AUROC, P-AP, P-F1max, AUPRO, mAD per class and mean) and writes
results/NAME/{metrics.json,table.md,log.jsonl} plus checkpoints.

  ${CONFIG_FLAGS_HELP.replaceAll("\n", "\n  ")}
  --resume             continue an interrupted run from its last checkpoints
  --results DIR        parent folder of run folders (default results)
  -h, --help           this text

Example:
  deno task train --name rd-joint-ccl --strategy joint --ccl --epochs 20`;

if (import.meta.main) {
  try {
    const { config, flags } = await parseCli(Deno.args);
    if (flags.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    const result = await runExperiment(config, {
      resume: flags.resume as boolean,
      resultsDir: (flags.results as string | undefined) ?? "results",
    });
    console.log(metricsTable([{ label: result.config.name, result }]));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
