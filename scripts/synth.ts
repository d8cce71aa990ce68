/**
 * Generates the synthetic anomaly dataset (MVTec AD layout) into a folder, or reuses it when
 * the folder already holds one with the same parameters; a dataset made with other settings
 * is replaced only with `--force`. Then prints how separable the classes are to the shipped
 * backbone: the V-measure of k-means (k = classes) on its pooled features of the training
 * normals (skip with `--no-measure`).
 *
 * ```
 * deno run -A scripts/synth.ts --out .cache/synth64 --size 64 [--seed N]
 *   [--family distinct|confusable] [--confusability X]
 *   [--train-per-class N] [--test-good-per-class N] [--test-bad-per-class N]
 *   [--classes a,b] [--force] [--no-measure] [--backend NAME]
 * ```
 * @module
 */

import { parseArgs } from "@std/cli";
import { selectBackend } from "../lib/backend/select_backend.ts";
import {
  CONFUSABLE_CLASS_NAMES,
  DEFAULT_CONFUSABILITY,
  DEFAULT_SYNTH_OPTIONS,
  ensureSynthDataset,
  requireFamily,
  SYNTH_CLASS_NAMES,
  type SynthOptions,
} from "../lib/data/synth/mod.ts";
import { measureSeparability } from "../lib/data/synth/measure.ts";

const HELP = `Generate the synthetic multi-class anomaly dataset (MVTec AD layout).

Usage:
  deno run -A scripts/synth.ts --out DIR --size 64|128|256 [options]

Options:
  --out DIR                  dataset folder (required); reused if its synth.json matches,
                             an error if it holds a dataset made with other settings
  --family NAME              distinct (default: 7 easy classes) or confusable (11 classes
                             sharing low-level statistics)
  --confusability X          confusable family: 0 (distinct look) .. 1 (near-duplicates);
                             default ${DEFAULT_CONFUSABILITY} with --family confusable
  --size N                   image side in pixels: 64, 128 or 256 (default ${DEFAULT_SYNTH_OPTIONS.size})
  --seed N                   dataset seed (default ${DEFAULT_SYNTH_OPTIONS.seed})
  --train-per-class N        normal training images per class (default ${DEFAULT_SYNTH_OPTIONS.trainPerClass})
  --test-good-per-class N    normal test images per class (default ${DEFAULT_SYNTH_OPTIONS.testGoodPerClass})
  --test-bad-per-class N     anomalous test images per class (default ${DEFAULT_SYNTH_OPTIONS.testBadPerClass})
  --classes a,b              subset of the family's classes; distinct: ${
  SYNTH_CLASS_NAMES.join(", ")
};
                             confusable: ${CONFUSABLE_CLASS_NAMES.join(", ")}
  --force                    regenerate even if a matching dataset exists, and replace a
                             dataset made with other settings
  --no-measure               skip the backbone V-measure of the training normals
  --backend NAME             TF.js backend for the measurement (default: automatic)
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
  family?: string;
  confusability?: string;
  backend?: string;
  help: boolean;
  force: boolean;
  measure: boolean;
}

function confusabilityFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x) || x < 0 || x > 1) {
    throw new Error(`--confusability must be a number in [0, 1], got "${value}"`);
  }
  return x;
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
    string: ["out", "classes", "family", "confusability", "backend", ...INTEGER_FLAGS],
    boolean: ["help", "force", "measure"],
    negatable: ["measure"],
    default: { measure: true },
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
  const family = requireFamily(flags.family ?? "distinct");
  let confusability = confusabilityFlag(flags.confusability);
  if (family === "distinct" && confusability !== undefined) {
    throw new Error("--confusability applies to --family confusable only");
  }
  if (family === "confusable") confusability ??= DEFAULT_CONFUSABILITY;
  const options: SynthOptions = {
    family,
    confusability,
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
  const info = await ensureSynthDataset(flags.out, { ...options, ifDifferent: "error" }).catch(
    (e) => {
      if (e instanceof Error && e.message.includes("made with other settings")) {
        throw new Error(`${e.message}; pass --force to replace it`);
      }
      throw e;
    },
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { params, samples } = info.manifest;
  const anomalous = samples.filter((s) => s.defect !== "good").length;
  const train = samples.filter((s) => s.split === "train").length;
  const familyName = params.family ?? "distinct";
  const level = familyName === "confusable" ? ` at confusability ${params.confusability}` : "";
  console.log(
    `${info.generated ? "generated" : "reused"} ${info.root}: ${familyName} family${level}, ` +
      `${params.classes.length} classes, ` +
      `${params.size}x${params.size}, seed ${params.seed}, ${train} train, ` +
      `${samples.length - train - anomalous} test good, ${anomalous} test anomalous (${seconds} s)`,
  );
  if (flags.measure && params.classes.length > 1 && train > 0) {
    const backend = await selectBackend({ requested: flags.backend, log: false });
    const report = await measureSeparability(
      info.dataset.records.filter((r) => r.split === "train"),
      { size: params.size },
    );
    console.log(
      `separability before training: V-measure ${report.vMeasure.toFixed(3)} ` +
        `(homogeneity ${report.homogeneity.toFixed(3)}, completeness ` +
        `${report.completeness.toFixed(3)}) of k-means (k = ${report.k}) on ${report.backbone}'s ` +
        `pooled features of the ${report.images} training normals (backend ${backend.name}, ` +
        `${report.seconds.toFixed(1)} s); 1 = the backbone alone separates every class`,
    );
  }
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
