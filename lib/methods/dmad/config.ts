/**
 * Configuration of DMAD: the RD skeleton's settings (see `../rd/config.ts`) plus the memory
 * module, the pyramid deformation module, the loss weights and the score's deformation weight.
 * @module
 */
import { type RDConfig, resolveRDConfig } from "../rd/config.ts";

/** DMAD's own settings (added to RD's). */
export interface DMADExtras {
  /** Prototypes in the bottleneck's memory bank. */
  memorySize: number;
  /** Softmax temperature of the memory's cosine attention (smaller: sparser read-out). */
  memoryTemperature: number;
  /** Largest deformation, in pixels of each scale (the sampler's window is ±maxOffset). */
  maxOffset: number;
  /** Hidden channels of each scale's offset head. */
  offsetHiddenChannels: number;
  /** Weight of the offsets' total variation in the loss (smooth deformation fields). */
  smoothnessWeight: number;
  /** Weight of the offsets' mean squared magnitude in the loss (deform only as needed). */
  magnitudeWeight: number;
  /** Weight of the memory attention's entropy in the loss (MemAE's sparsity term). */
  entropyWeight: number;
  /** Weight of the deformation magnitude in the anomaly map (added to the residual). */
  deformationScoreWeight: number;
}

/** DMAD's settings; JSON-serialisable. */
export type DMADConfig = RDConfig & DMADExtras;

/** Defaults of the DMAD-specific settings. */
export const DMAD_EXTRA_DEFAULTS: Readonly<DMADExtras> = Object.freeze({
  memorySize: 50,
  memoryTemperature: 0.1,
  maxOffset: 2,
  offsetHiddenChannels: 32,
  smoothnessWeight: 0.1,
  magnitudeWeight: 0.01,
  entropyWeight: 2e-4,
  deformationScoreWeight: 0.1,
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
 * const config = resolveDMADConfig("small_resnet", { memorySize: 20 });
 * if (config.memorySize !== 20 || config.maxOffset !== 2) throw new Error();
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
  for (const key of ["memorySize", "maxOffset", "offsetHiddenChannels"] as const) {
    if (!isPositiveInt(extras[key])) {
      fail(`${key} must be a positive integer, got ${JSON.stringify(extras[key])}`);
    }
  }
  if (!(isNonNegative(extras.memoryTemperature) && extras.memoryTemperature > 0)) {
    fail(`memoryTemperature must be > 0, got ${JSON.stringify(extras.memoryTemperature)}`);
  }
  for (
    const key of [
      "smoothnessWeight",
      "magnitudeWeight",
      "entropyWeight",
      "deformationScoreWeight",
    ] as const
  ) {
    if (!isNonNegative(extras[key])) {
      fail(`${key} must be a number >= 0, got ${JSON.stringify(extras[key])}`);
    }
  }
}
