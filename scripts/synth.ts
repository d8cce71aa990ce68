/**
 * Generates the synthetic anomaly dataset (MVTec AD layout) into a folder, or reuses it when
 * the folder already holds one with the same parameters.
 *
 * ```
 * deno run -A scripts/synth.ts --out .cache/synth64 --size 64 [--seed N]
 *   [--train-per-class N] [--test-good-per-class N] [--test-bad-per-class N]
 *   [--classes a,b] [--force]
 * ```
 * @module
 */

import { parseArgs } from "@std/cli";
import {
  DEFAULT_SYNTH_OPTIONS,
  ensureSynthDataset,
  SYNTH_CLASS_NAMES,
  type SynthOptions,
} from "../lib/data/synth/mod.ts";

const HELP = `Generate the synthetic multi-class anomaly dataset (MVTec AD layout).

Usage:
  deno run -A scripts/synth.ts --out DIR --size 64|128|256 [options]

Options:
  --out DIR                  dataset folder (required); reused if its synth.json matches
  --size N                   image side in pixels: 64, 128 or 256 (default ${DEFAULT_SYNTH_OPTIONS.size})
  --seed N                   dataset seed (default ${DEFAULT_SYNTH_OPTIONS.seed})
  --train-per-class N        normal training images per class (default ${DEFAULT_SYNTH_OPTIONS.trainPerClass})
  --test-good-per-class N    normal test images per class (default ${DEFAULT_SYNTH_OPTIONS.testGoodPerClass})
  --test-bad-per-class N     anomalous test images per class (default ${DEFAULT_SYNTH_OPTIONS.testBadPerClass})
  --classes a,b              subset of: ${SYNTH_CLASS_NAMES.join(", ")}
  --force                    regenerate even if a matching dataset exists
  -h, --help                 show this help
`;

const INTEGER_FLAGS = [
  "size",
  "seed",
  "train-per-class",
  "test-good-per-class",
  "test-bad-per-class",
] as const;

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  }
  return Number(value);
}

/** The parsed command line (parse_args from the npm build of std is untyped). */
interface Flags {
  out?: string;
  classes?: string;
  size?: string;
  seed?: string;
  "train-per-class"?: string;
  "test-good-per-class"?: string;
  "test-bad-per-class"?: string;
  help: boolean;
  force: boolean;
}

/** Deletes a folder for --force, but only one that holds a generated dataset. */
async function removeSynthDataset(dir: string): Promise<void> {
  try {
    await Deno.stat(`${dir}/synth.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  await Deno.remove(dir, { recursive: true });
}

async function main(args: string[]): Promise<number> {
  const flags: Flags = parseArgs(args, {
    string: ["out", "classes", ...INTEGER_FLAGS],
    boolean: ["help", "force"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      throw new Error(`unknown argument ${arg}; see --help`);
    },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  if (!flags.out) throw new Error("--out DIR is required; see --help");
  const size = integerFlag("size", flags.size);
  if (size !== undefined && ![64, 128, 256].includes(size)) {
    throw new Error(`--size must be 64, 128 or 256, got ${size}`);
  }
  const options: SynthOptions = {
    size,
    seed: integerFlag("seed", flags.seed),
    trainPerClass: integerFlag("train-per-class", flags["train-per-class"]),
    testGoodPerClass: integerFlag("test-good-per-class", flags["test-good-per-class"]),
    testBadPerClass: integerFlag("test-bad-per-class", flags["test-bad-per-class"]),
    classes: flags.classes?.split(",").map((c: string) => c.trim()).filter((c: string) =>
      c.length > 0
    ),
  };
  if (flags.force) await removeSynthDataset(flags.out);
  const started = performance.now();
  const info = await ensureSynthDataset(flags.out, options);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { params, samples } = info.manifest;
  const anomalous = samples.filter((s) => s.defect !== "good").length;
  const train = samples.filter((s) => s.split === "train").length;
  console.log(
    `${info.generated ? "generated" : "reused"} ${info.root}: ${params.classes.length} classes, ` +
      `${params.size}x${params.size}, seed ${params.seed}, ${train} train, ` +
      `${samples.length - train - anomalous} test good, ${anomalous} test anomalous (${seconds} s)`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`synth: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
