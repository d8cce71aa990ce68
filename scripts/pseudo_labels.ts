/**
 * Pseudo-class labels for CCL: k-means over pooled pretrained features of a dataset's training
 * images. Writes the label file the trainer reads (`--pseudo-labels FILE`) and a report beside
 * it, and prints how well the clusters recover the true classes (V-measure and the
 * cluster x class table).
 *
 * ```
 * deno run -A scripts/pseudo_labels.ts [--data DIR] [--size 64] [--k N] [--seed N]
 *   [--backbone small_resnet] [--backend NAME] [--out FILE]
 * ```
 * @module
 */
import { parseArgs } from "@std/cli";
import { join } from "@std/path";
import { selectBackend } from "../lib/backend/select_backend.ts";
import {
  formatPseudoLabelReport,
  makePseudoLabels,
  type PooledStages,
  syntheticDatasetDir,
  writePseudoLabels,
} from "../lib/clustering/mod.ts";
import { createProgress, type Progress } from "../lib/experiment/progress.ts";

const HELP = `Pseudo-class labels from k-means on pretrained backbone features.

Usage:
  deno run -A scripts/pseudo_labels.ts [options]

Options:
  --data DIR          dataset folder (MVTec AD, VisA, Real-IAD, BTAD, MPDD layouts);
                      default: the embedded synthetic dataset, cached in .cache/synth-<size>-seed0
  --classes a,b       only these classes
  --size N            image side in pixels (default 64)
  --k N               number of clusters (default: the number of classes)
  --seed N            k-means seed (default 0)
  --restarts N        k-means restarts, best by inertia (default 10)
  --backbone SPEC     small_resnet (shipped weights, default), ARCH:random[:SEED], ARCH:FILE
  --stages last|all   pooled features of the last stage (default) or all stages concatenated
  --no-normalize      cluster raw pooled features instead of L2-normalised ones
  --backend NAME      TF.js backend: wasm, cpu, webgpu, tensorflow, tensorflow-gpu (default: auto)
  --batch N           images per forward pass (default 32; --batch-size is accepted too)
  --out FILE          label file (default results/pseudo_labels/<dataset>-k<k>.json);
                      the report goes to the same name with .report.json
  -h, --help          show this help

The label file maps each training image path, exactly as the dataset reader gives it (absolute),
to a cluster id; pass it to training with --pseudo-labels FILE.
`;

/** The parsed command line (parse_args from the npm build of std is untyped). */
interface Flags {
  data?: string;
  classes?: string;
  size?: string;
  k?: string;
  seed?: string;
  restarts?: string;
  backbone?: string;
  stages?: string;
  backend?: string;
  batch?: string;
  out?: string;
  normalize: boolean;
  help: boolean;
}

function integerFlag(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got "${value}"`);
  }
  return Number(value);
}

function stagesFlag(value: string | undefined): PooledStages | undefined {
  if (value === undefined || value === "last" || value === "all") return value;
  throw new Error(`--stages must be "last" or "all", got "${value}"`);
}

/** A progress bar for feature extraction, created on the first report (when the total is known). */
function featureProgress(): { update: (done: number, total: number) => void; finish(): void } {
  let bar: Progress | undefined;
  return {
    update(done, total) {
      bar ??= createProgress("features", total);
      bar.update(done);
    },
    finish() {
      bar?.finish();
    },
  };
}

async function main(args: string[]): Promise<number> {
  const flags: Flags = parseArgs(args, {
    string: [
      "data",
      "classes",
      "size",
      "k",
      "seed",
      "restarts",
      "backbone",
      "stages",
      "backend",
      "batch",
      "out",
    ],
    boolean: ["help", "normalize"],
    negatable: ["normalize"],
    default: { normalize: true },
    alias: { h: "help", "batch-size": "batch" },
    unknown: (arg: string) => {
      throw new Error(`unknown argument ${arg}; see --help`);
    },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const size = integerFlag("size", flags.size, 32) ?? 64;
  const classes = flags.classes?.split(",").map((c) => c.trim()).filter((c) => c.length > 0);
  const options = {
    data: flags.data,
    classes,
    size,
    k: integerFlag("k", flags.k, 1),
    seed: integerFlag("seed", flags.seed, 0) ?? 0,
    restarts: integerFlag("restarts", flags.restarts, 1),
    backbone: flags.backbone ?? "small_resnet",
    stages: stagesFlag(flags.stages),
    normalize: flags.normalize,
    batchSize: integerFlag("batch", flags.batch, 1),
  };
  await selectBackend({ requested: flags.backend });
  if (flags.data === undefined) {
    console.error(`dataset: embedded synthetic dataset in ${syntheticDatasetDir(size)}`);
  }
  const progress = featureProgress();
  const result = await makePseudoLabels({ ...options, onProgress: progress.update });
  progress.finish();
  const { report } = result;
  const out = flags.out ?? join("results", "pseudo_labels", `${report.dataset}-k${report.k}.json`);
  const { labelsPath, reportPath } = await writePseudoLabels(out, result);
  console.log(formatPseudoLabelReport(report));
  console.log(
    `\nfeatures ${report.seconds.features.toFixed(1)} s, k-means ${
      report.seconds.kmeans.toFixed(2)
    } s\nwrote ${labelsPath} (train with --pseudo-labels ${labelsPath})\nwrote ${reportPath}`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`pseudo-labels: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
