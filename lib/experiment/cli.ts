/**
 * Command-line flags shared by `deno task train`, `deno task eval` and `deno task demo`.
 * @module
 */
import { parseArgs } from "@std/cli";
import type { PartialConfig } from "./config.ts";

/** Help text for the config flags. */
export const CONFIG_FLAGS_HELP = `
  --config FILE        JSON experiment config (flags below override it)
  --name NAME          run name; results go to results/NAME/
  --method NAME        method plug-in (rd)
  --ccl                add class-aware contrastive learning
  --ccl-window K       local CL search window (odd; 0 = whole map; default 3)
  --ccl-options JSON   further CCL options, e.g. '{"lambdaGlobal":0.5}'
  --pseudo-labels FILE CCL labels from a pseudo-label JSON file instead of class names
  --strategy S         per-class | joint
  --data DIR           dataset folder (MVTec/BTAD/MPDD, VisA, Real-IAD layout);
                       default: the embedded synthetic dataset
  --classes A,B        only these classes
  --size N             input size in pixels (multiple of 32)
  --backbone SPEC      small_resnet | small_resnet:random | resnet18:FILE | wide_resnet50_2:FILE
  --method-options JSON method settings, e.g. '{"blocksPerStage":1}'
  --epochs N  --batch N  --lr X  --clip X  --eval-every N  --seed N
  --backend NAME       auto | tensorflow-gpu | tensorflow | webgpu | wasm | cpu
                       (default: CCL_BACKEND, else the best available)`.trim();

/** Parsed command line: config overrides plus the other flags. */
export interface ParsedCli {
  config: PartialConfig;
  flags: Record<string, unknown>;
}

const STRING_FLAGS = [
  "config",
  "name",
  "method",
  "ccl-window",
  "ccl-options",
  "pseudo-labels",
  "strategy",
  "data",
  "classes",
  "size",
  "backbone",
  "method-options",
  "epochs",
  "batch",
  "lr",
  "clip",
  "eval-every",
  "seed",
  "backend",
  "results",
  "run",
];

/** Parses `args`; `extraBoolean` names further boolean flags of the calling script. */
export async function parseCli(
  args: string[],
  extraBoolean: string[] = [],
): Promise<ParsedCli> {
  const flags = parseArgs(args, {
    string: STRING_FLAGS,
    boolean: ["ccl", "help", "resume", ...extraBoolean],
    unknown: (arg: string) => {
      throw new Error(`unknown argument ${arg} (see --help)`);
    },
  });
  const config: PartialConfig = flags.config
    ? JSON.parse(await Deno.readTextFile(flags.config as string))
    : {};
  const number = (name: string) => {
    const text = flags[name] as string | undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) throw new Error(`--${name} expects a number, got "${text}"`);
    return value;
  };
  const json = (name: string) => {
    const text = flags[name] as string | undefined;
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`--${name} expects JSON, got ${text}`);
    }
  };
  const set = <K extends keyof PartialConfig>(key: K, value: PartialConfig[K] | undefined) => {
    if (value !== undefined) config[key] = value;
  };
  set("name", flags.name as string | undefined);
  set("method", flags.method as string | undefined);
  set("strategy", flags.strategy as PartialConfig["strategy"]);
  set("imageSize", number("size"));
  set("backbone", flags.backbone as string | undefined);
  set("epochs", number("epochs"));
  set("batchSize", number("batch"));
  set("learningRate", number("lr"));
  set("clipNorm", number("clip"));
  set("evalEvery", number("eval-every"));
  set("seed", number("seed"));
  set("backend", flags.backend as string | undefined);
  set("methodOptions", json("method-options"));
  if (flags.data || flags.classes) {
    config.data = {
      ...config.data,
      ...(flags.data ? { root: flags.data as string } : {}),
      ...(flags.classes ? { classes: (flags.classes as string).split(",") } : {}),
    };
  }
  if (flags.ccl || flags["ccl-window"] !== undefined || flags["ccl-options"] !== undefined) {
    config.ccl = {
      ...(config.ccl ?? {}),
      ...(json("ccl-options") ?? {}),
      ...(flags["ccl-window"] !== undefined ? { window: number("ccl-window") } : {}),
    };
  }
  if (flags["pseudo-labels"]) config.labels = { pseudoLabels: flags["pseudo-labels"] as string };
  return { config, flags };
}
