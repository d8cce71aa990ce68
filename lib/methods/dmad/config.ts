/**
 * Configuration of DMAD: the RD skeleton's settings (see `../rd/config.ts`) plus the memory
 * (vector quantiser), the pyramid pre-deformation module, the loss weights, the score's
 * deformation weight and AdamW's weight decay.
 * @module
 */
import { type RDConfig, resolveRDConfig } from "../rd/config.ts";

/** DMAD's own settings (added to RD's); defaults are the official code's (see `mod.ts`). */
export interface DMADExtras {
  /** Codewords of the vector-quantised memory on the deepest encoder map (official 200). */
  codebookSize: number;
  /** VQ commitment weight beta (official 0.25). */
  commitmentWeight: number;
  /** Channels of each reduced bottleneck path; 0 = c1 / 4 (official 64 for WRN-50). */
  reducedChannels: number;
  /** Hidden channels of the offset network (official 64). */
  offsetChannels: number;
  /** CoordConv cell size of the offset network's stem (official 4). */
  coordCellSize: number;
  /** Largest coarse offset in normalised grid units (official 2 · 8 / 256: 8 px at 256²). */
  coarseOffset: number;
  /** Largest fine offset in normalised grid units (official 2 · 3 / 256: 3 px at 256²). */
  fineOffset: number;
  /** Weight of the inverse-warp restoration MSE in the deformation loss (official gamma 1). */
  inverseWeight: number;
  /**
   * Weight of the diversity (deformation magnitude, divided by its largest possible value) in
   * the map and the score (official 0.05; 0.2 for screw, carpet and metal nut).
   */
  deformationScoreWeight: number;
  /** AdamW's decoupled weight decay (official: PyTorch's default 0.01). */
  weightDecay: number;
}

/** DMAD's settings; JSON-serialisable. */
export type DMADConfig = RDConfig & DMADExtras;

/** Defaults of the DMAD-specific settings (the official code's). */
export const DMAD_EXTRA_DEFAULTS: Readonly<DMADExtras> = Object.freeze({
  codebookSize: 200,
  commitmentWeight: 0.25,
  reducedChannels: 0,
  offsetChannels: 64,
  coordCellSize: 4,
  coarseOffset: (2 * 8) / 256,
  fineOffset: (2 * 3) / 256,
  inverseWeight: 1,
  deformationScoreWeight: 0.05,
  weightDecay: 0.01,
});

const EXTRA_KEYS = Object.keys(DMAD_EXTRA_DEFAULTS) as (keyof DMADExtras)[];

function fail(message: string): never {
  throw new Error(`lib/methods/dmad/config.ts: ${message}`);
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}

function isNonNegative(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/**
 * The backbone's RD preset and {@linkcode DMAD_EXTRA_DEFAULTS}, overridden by `overrides`
 * (e.g. parsed JSON), validated: unknown keys and bad values are errors.
 *
 * @example
 * ```ts
 * import { resolveDMADConfig } from "./config.ts";
 * const config = resolveDMADConfig("small_resnet", { codebookSize: 20 });
 * if (config.codebookSize !== 20 || config.offsetChannels !== 64) throw new Error();
 * if (config.mapReduction !== "sum") throw new Error("the official code adds the scales");
 * ```
 */
export function resolveDMADConfig(
  backboneName: string,
  overrides: Partial<DMADConfig> | Record<string, unknown> = {},
): DMADConfig {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    fail(`config must be an object, got ${JSON.stringify(overrides)}`);
  }
  const rdPart: Record<string, unknown> = {};
  const extras: DMADExtras = { ...DMAD_EXTRA_DEFAULTS };
  for (const [key, value] of Object.entries(overrides)) {
    if ((EXTRA_KEYS as string[]).includes(key)) {
      (extras as unknown as Record<string, unknown>)[key] = value;
    } else {
      rdPart[key] = value;
    }
  }
  // The official DMAD evaluation adds the per-scale maps (`amap_mode='a'`); with a weighted
  // diversity term, mean vs sum changes the balance, so DMAD defaults to "sum".
  if (!("mapReduction" in rdPart)) rdPart.mapReduction = "sum";
  let rd: RDConfig;
  try {
    rd = resolveRDConfig(backboneName, rdPart);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    fail(`${message} (DMAD also knows: ${EXTRA_KEYS.join(", ")})`);
  }
  validateDMADExtras(extras);
  return { ...rd, ...extras };
}

/** Throws a clear error if a DMAD-specific field is out of range. */
export function validateDMADExtras(extras: DMADExtras): void {
  for (const key of ["codebookSize", "offsetChannels", "coordCellSize"] as const) {
    if (!isPositiveInt(extras[key])) {
      fail(`${key} must be a positive integer, got ${JSON.stringify(extras[key])}`);
    }
  }
  if (!(isNonNegative(extras.reducedChannels) && Number.isInteger(extras.reducedChannels))) {
    fail(
      `reducedChannels must be an integer >= 0 (0: c1 / 4), got ${
        JSON.stringify(extras.reducedChannels)
      }`,
    );
  }
  for (const key of ["coarseOffset", "fineOffset"] as const) {
    if (!(isNonNegative(extras[key]) && extras[key] > 0 && extras[key] <= 1)) {
      fail(`${key} must be in (0, 1] (normalised grid units), got ${JSON.stringify(extras[key])}`);
    }
  }
  for (
    const key of [
      "commitmentWeight",
      "inverseWeight",
      "deformationScoreWeight",
      "weightDecay",
    ] as const
  ) {
    if (!isNonNegative(extras[key])) {
      fail(`${key} must be a number >= 0, got ${JSON.stringify(extras[key])}`);
    }
  }
}
