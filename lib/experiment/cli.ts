/**
 * Command-line flags shared by `deno task train`, `deno task eval` and `deno task demo`.
 * @module
 */
import { parseArgs } from "@std/cli";
import type { PartialConfig } from "./config.ts";
import { readConfigFile } from "./config_file.ts";

/** Help text for the config flags. */
export const CONFIG_FLAGS_HELP = `
  --config FILE        JSON experiment config (flags below override it)
  --name NAME          run name (one folder name); results go to results/NAME/
                       (default: METHOD-STRATEGY, plus -ccl or -ccl-pseudo)
  --method NAME        method plug-in: rd | destseg | draem | dmad
  --ccl                add class-aware contrastive learning
  --ccl-window K       local CL search window (odd; 0 = whole map; default 3)
  --ccl-options JSON   further CCL options, e.g. '{"lambdaGlobal":0.5}'
  --pseudo-labels FILE CCL labels from a pseudo-label JSON file instead of class names
  --strategy S         per-class | joint | sequential | continual
  --data DIR           dataset folder (MVTec/BTAD/MPDD, VisA, Real-IAD layout);
                       default: the embedded synthetic dataset
  --classes A,B        only these classes
  --size N             input size in pixels (multiple of 32)
  --backbone SPEC      small_resnet | small_resnet:random | resnet18:FILE | wide_resnet50_2:FILE
  --method-options JSON method settings, e.g. '{"mapReduction":"sum"}' (RD: lib/methods/rd/config.ts)
  --textures DIR       draem, destseg: paste textures from this folder of images (PNG/JPEG/BMP,
                       subfolders too; e.g. DTD's images/) into the synthetic anomalies
                       instead of procedural ones; decoded once per run at --size
  --epochs N  --batch N  --lr X  --clip X  --eval-every N  --seed N
                       (--batch-size is accepted for --batch; --clip: gradient-norm
                       clip, default 5 with --ccl as the paper, none otherwise; 0 = none)
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
  "textures",
  "results",
  "run",
  "workers",
];

/** Other spellings accepted for a flag: one vocabulary across the tasks. */
const FLAG_ALIASES: Record<string, string> = { "batch-size": "batch", h: "help" };

/**
 * Joins a value flag with a following value that a flag parser would take for a flag of its
 * own or for a positional argument: a negative number (`--epochs -3`) or an empty string
 * (`--epochs ""`), so the value's own check reports it.
 *
 * @example
 * ```ts
 * import { joinFlagValues } from "./cli.ts";
 * const args = joinFlagValues(["--epochs", "-3", "--ccl"], ["epochs"]);
 * if (args.join(" ") !== "--epochs=-3 --ccl") throw new Error(args.join(" "));
 * ```
 */
export function joinFlagValues(args: readonly string[], valueFlags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    const next = args[i + 1];
    const takesValue = name !== undefined &&
      (valueFlags.includes(name) || valueFlags.includes(FLAG_ALIASES[name] ?? ""));
    if (takesValue && next !== undefined && (next === "" || /^-\.?\d/.test(next))) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Parses `args`; `extraBoolean` names further boolean flags of the calling script. */
export async function parseCli(
  args: string[],
  extraBoolean: string[] = [],
): Promise<ParsedCli> {
  const flags = parseArgs(joinFlagValues(args, STRING_FLAGS), {
    string: STRING_FLAGS,
    boolean: ["ccl", "help", "resume", ...extraBoolean],
    alias: FLAG_ALIASES,
    unknown: (arg: string) => {
      if (!arg.startsWith("-")) {
        throw new Error(`unexpected argument "${arg}": every value follows its flag (see --help)`);
      }
      throw new Error(`unknown argument ${arg} (see --help)`);
    },
  });
  for (const name of STRING_FLAGS) {
    if (flags[name] === "") throw new Error(`--${name} needs a value (see --help)`);
  }
  const config: PartialConfig = flags.config ? await readConfigFile(flags.config as string) : {};
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
  set("textures", flags.textures as string | undefined);
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
