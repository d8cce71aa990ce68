/**
 * `deno task eval`: evaluates a trained run from its checkpoints.
 * @module
 */
import { parseArgs } from "@std/cli";
import { joinFlagValues } from "../lib/experiment/cli.ts";
import { evaluateRun } from "../lib/experiment/evaluate_run.ts";
import { metricsTable } from "../lib/experiment/results_table.ts";

const HELP = `deno task eval --run results/NAME [--backend NAME] [--data DIR] [--batch N]

Loads results/NAME/config.json and the checkpoints of each unit, predicts the test set,
prints the metrics table (per class and mean) and writes results/NAME/eval.json.
Refuses, saying what changed, if config.json is not the config the checkpoints were trained
under, or if the dataset's classes or test set differ from those the run used
(results/NAME/dataset.json). --batch-size is accepted for --batch; -h is --help.`;

if (import.meta.main) {
  const valueFlags = ["run", "backend", "data", "batch"];
  const flags = parseArgs(joinFlagValues(Deno.args, valueFlags), {
    string: valueFlags,
    boolean: ["help"],
    alias: { h: "help", "batch-size": "batch" },
    unknown: (arg: string) => {
      console.error(`unknown argument ${arg}\n\n${HELP}`);
      Deno.exit(2);
    },
  });
  for (const name of valueFlags) {
    if (flags[name] === "") {
      console.error(`error: --${name} needs a value (see --help)`);
      Deno.exit(2);
    }
  }
  if (flags.help || !flags.run) {
    console.log(HELP);
    Deno.exit(flags.help ? 0 : 2);
  }
  try {
    const result = await evaluateRun(flags.run, {
      overrides: {
        ...(flags.backend ? { backend: flags.backend } : {}),
        ...(flags.batch ? { batchSize: Number(flags.batch) } : {}),
        ...(flags.data ? { data: { root: flags.data } } : {}),
      },
    });
    console.log(metricsTable([{ label: result.config.name, result }]));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
