/**
 * `deno task reproduce`: runs what one of the paper's tables needs and writes ours next to the
 * paper's (see lib/reproduce).
 * @module
 */
import { parseArgs } from "@std/cli";
import {
  DATASET_KEYS,
  DATASET_PRESETS,
  embeddedPreset,
  paperPreset,
  parseDataRoots,
  planTable,
  reproduceTable,
  TABLE_NAMES,
} from "../lib/reproduce/mod.ts";

const HELP = `deno task reproduce --table main|strategies|mixed [--data mvtec=/p,visa=/p,...]
                      [--weights WRN50.safetensors] [--epochs 100|200] [--quick] [--results DIR]
                      [--plan]

Plans exactly the runs the paper's table needs for the datasets given, makes them (resuming:
finished runs are read back, interrupted ones continue from their checkpoints), and writes
results/reproduce/<table>/: table.md (ours, the paper's, the difference), side_by_side.png/.svg
/.vl.json, summary.json, plan.json, and runs/<run>/ with each run's results.

  --table     main (RD and DeSTSeg, joint vs +CCL, per dataset and All-in-all),
              strategies (one-for-one, sequential, continual, joint, +CCL),
              mixed (four methods on MVTec AD + VisA + BTAD as one 30-class dataset)
  --data      dataset roots: ${DATASET_KEYS.join(", ")} (none: the embedded stand-in)
  --weights   torchvision WideResNet-50-2 ImageNet weights as safetensors (needed with --data)
  --epochs    training epochs with --data (default 200; the paper uses 100-200)
  --quick     with --data: 10 epochs; without: 2 epochs on three synthetic classes
  --plan      print the plan and exit (nothing is trained)

Without --data nothing real is reproduced: the same pipeline runs on the embedded synthetic
dataset at small scale, written to results/reproduce/<table>-embedded/ and titled
"NOT a reproduction".

Datasets (none is downloaded here; get them from their publishers):
${
  DATASET_KEYS.map((key) => {
    const d = DATASET_PRESETS[key];
    return `  ${key.padEnd(8)} ${d.title}, ${d.classes} classes, ${d.size}: ${d.source}\n` +
      `           licence: ${d.licence}\n           root: ${d.root}`;
  }).join("\n")
}`;

if (import.meta.main) {
  try {
    const flags = parseArgs(Deno.args, {
      string: ["table", "data", "weights", "epochs", "results"],
      boolean: ["quick", "plan", "help"],
      unknown: (arg: string) => {
        throw new Error(`unknown argument ${arg} (see --help)`);
      },
    });
    if (flags.help) {
      console.log(HELP);
      Deno.exit(0);
    }
    if (!flags.table || !(TABLE_NAMES as readonly string[]).includes(flags.table)) {
      throw new Error(`--table must be one of ${TABLE_NAMES.join(", ")} (see --help)`);
    }
    const roots = parseDataRoots(flags.data ?? "");
    const real = Object.keys(roots).length > 0;
    const epochs = flags.quick ? 10 : Number(flags.epochs ?? 200);
    if (!Number.isInteger(epochs) || epochs < 1) {
      throw new Error(`--epochs must be a positive integer, got ${flags.epochs}`);
    }
    if (!real && (flags.weights || flags.epochs)) {
      throw new Error("--weights and --epochs apply to real data: give --data too");
    }
    const preset = real ? paperPreset(flags.weights ?? "", epochs) : embeddedPreset(flags.quick);
    const plan = planTable({ table: flags.table, roots, preset });
    console.error(plan.title);
    for (const cell of plan.cells.filter((c) => c.skipped)) {
      console.error(
        `  skipped: ${cell.method} ${cell.strategy} on ${cell.target}: ${cell.skipped}`,
      );
    }
    if (flags.plan) {
      for (const run of plan.runs) console.log(`${run.name}\t${JSON.stringify(run.config)}`);
      Deno.exit(0);
    }
    if (plan.runs.length === 0) throw new Error("no run to make for the datasets given");
    const summary = await reproduceTable(plan, {
      resultsDir: flags.results,
      progress: Deno.stderr.isTerminal() ? "terminal" : "lines",
    });
    console.log(await Deno.readTextFile(summary.files.table));
    console.error(`wrote ${summary.files.table}`);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
