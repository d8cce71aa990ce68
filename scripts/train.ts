/**
 * `deno task train`: trains and evaluates one experiment config.
 * @module
 */
import { CONFIG_FLAGS_HELP, parseCli } from "../lib/experiment/cli.ts";
import { runExperiment } from "../lib/experiment/run_experiment.ts";
import { metricsTable } from "../lib/experiment/results_table.ts";
import { parseWorkerCount } from "../lib/parallel/pool.ts";

const HELP = `deno task train [flags]

Trains a method (optionally with CCL) per class or jointly, evaluates it (I-AUROC, I-AP,
I-F1max, P-AUROC, P-AP, P-F1max, AUPRO, mAD per class and mean) and writes
results/NAME/{metrics.json,table.md,log.jsonl} plus checkpoints.

  ${CONFIG_FLAGS_HELP.replaceAll("\n", "\n  ")}
  --resume             continue an interrupted run from its last checkpoints
  --results DIR        parent folder of run folders (default results)
  --workers N          per-class units train on N workers, each with its own TF.js
                       (default: one per core; same numbers as 1)
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
      workers: parseWorkerCount(flags.workers),
    });
    console.log(metricsTable([{ label: result.config.name, result }]));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
