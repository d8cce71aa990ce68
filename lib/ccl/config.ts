import type { AugmentOptions } from "../data/augment.ts";

/**
 * The JSON-serialisable settings of class-aware contrastive learning (CCL), their defaults
 * (those of the released RD+CCL code) and their validation.
 * @module
 */

/** Every CCL setting. All fields are plain JSON values, so a config can be saved with a run. */
export interface CCLConfig {
  /** Weight λ1 of the global (SupCon) loss in the total. Default 1. */
  lambdaGlobal: number;
  /** Weight λ2 of the local (dense) loss in the total. Default 1. */
  lambdaLocal: number;
  /** Temperature of the global SupCon loss. Default 0.05. */
  temperatureGlobal: number;
  /** Temperature of the local dense loss. Default 0.05. */
  temperatureLocal: number;
  /**
   * Side k of the k x k window (odd) around pixel i in which its match in the augmented view is
   * searched; 0 searches the whole map, as the released code does. Default 3 (the paper's k).
   */
  window: number;
  /** Adds a second positive per pixel: its match in another image of the same class. Default false. */
  sameClassPositive: boolean;
  /** Probability per step of adding feature noise to the original view. Default 0.31. */
  noiseProbability: number;
  /** Share of spatial positions per image that receive noise when it is added. Default 0.5. */
  noiseFraction: number;
  /** Standard deviation of the feature noise. Default 1. */
  noiseStd: number;
  /** Learning rate of the projector's parameter group. Default 1e-3. */
  projectorLearningRate: number;
  /** Negative slope of the projector's LeakyReLUs. Default 0.01 (PyTorch's, as released). */
  projectorLeakySlope: number;
  /** Whether the global (SupCon) loss is used. Default true. */
  enableGlobal: boolean;
  /** Whether the local (dense) loss is used. Default true. */
  enableLocal: boolean;
  /**
   * Whether the per-scale projector is inserted (for methods that accept it). Default true.
   * Without it, a method such as RD returns its frozen features as `dense`, so local CL has
   * nothing to train (its value is then a constant).
   */
  enableProjector: boolean;
  /** Whether feature noise is added (needs the projector). Default true. */
  enableNoise: boolean;
  /**
   * How the second view of each image is made (`lib/data/augment.ts`): `{}` is the paper's
   * (random resized crop 0.8-1, h/v flips, colour jitter 0.4/0.4/0.4/0.1, grayscale 0.2, blur,
   * rotation up to 15 degrees); a part set to `false` is switched off. Recorded with the run and
   * part of its config fingerprint. Default `{}`.
   */
  augmentation: AugmentOptions;
}

/** The parts of {@linkcode CCLConfig.augmentation}. */
export const AUGMENTATION_PARTS: readonly (keyof AugmentOptions)[] = Object.freeze([
  "crop",
  "hflip",
  "vflip",
  "rotation",
  "colorJitter",
  "grayscale",
  "blur",
]);

/**
 * Defaults of the released RD+CCL code and the paper. `noiseProbability` 0.31 is
 * P(N(0,1) > 0.5), the released code's coin; the slope 0.01 is that of its `nn.LeakyReLU()`.
 */
export const DEFAULT_CCL_CONFIG: Readonly<CCLConfig> = Object.freeze({
  lambdaGlobal: 1,
  lambdaLocal: 1,
  temperatureGlobal: 0.05,
  temperatureLocal: 0.05,
  window: 3,
  sameClassPositive: false,
  noiseProbability: 0.31,
  noiseFraction: 0.5,
  noiseStd: 1,
  projectorLearningRate: 1e-3,
  projectorLeakySlope: 0.01,
  enableGlobal: true,
  enableLocal: true,
  enableProjector: true,
  enableNoise: true,
  augmentation: Object.freeze({}),
});

type NumberRule = (value: number) => string | undefined;

const nonNegative: NumberRule = (v) => (v >= 0 ? undefined : "must be >= 0");
const positive: NumberRule = (v) => (v > 0 ? undefined : "must be > 0");
const probability: NumberRule = (v) => (v >= 0 && v <= 1 ? undefined : "must be in [0, 1]");
const windowSide: NumberRule = (v) =>
  Number.isInteger(v) && v >= 0 && (v === 0 || v % 2 === 1)
    ? undefined
    : "must be 0 (whole map) or an odd positive integer";

const NUMBER_RULES: Record<string, NumberRule> = {
  lambdaGlobal: nonNegative,
  lambdaLocal: nonNegative,
  temperatureGlobal: positive,
  temperatureLocal: positive,
  window: windowSide,
  noiseProbability: probability,
  noiseFraction: probability,
  noiseStd: nonNegative,
  projectorLearningRate: positive,
  projectorLeakySlope: nonNegative,
};

/**
 * Merges `options` over {@linkcode DEFAULT_CCL_CONFIG} and validates the result. Unknown keys,
 * wrong types and out-of-range values are errors that name `source` and the key.
 *
 * @param options a partial config, e.g. the `ccl` object of an experiment JSON
 * @param source where the options came from, for error messages
 *
 * @example
 * ```ts
 * import { resolveCCLConfig } from "./config.ts";
 * const config = resolveCCLConfig({ window: 0 }, "run.json");
 * if (config.temperatureLocal !== 0.05) throw new Error("default kept");
 * ```
 */
export function resolveCCLConfig(
  options: Partial<CCLConfig> | Record<string, unknown> = {},
  source = "CCL config",
): CCLConfig {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${source}: CCL options must be an object, got ${JSON.stringify(options)}`);
  }
  const config: CCLConfig = { ...DEFAULT_CCL_CONFIG };
  const defaults = DEFAULT_CCL_CONFIG as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) {
    if (!(key in defaults)) {
      const known = Object.keys(defaults).join(", ");
      throw new Error(`${source}: unknown CCL option "${key}" (known: ${known})`);
    }
    const expected = typeof defaults[key];
    const actual = typeof value;
    if (key === "augmentation") {
      (config as unknown as Record<string, unknown>)[key] = checkAugmentation(value, source);
      continue;
    }
    if (actual !== expected) {
      throw new TypeError(
        `${source}: CCL option "${key}" must be a ${expected}, got ${JSON.stringify(value)}`,
      );
    }
    if (expected === "number") {
      const problem = Number.isFinite(value)
        ? NUMBER_RULES[key]?.(value as number)
        : "must be finite";
      if (problem) throw new RangeError(`${source}: CCL option "${key}" ${problem}, got ${value}`);
    }
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  return config;
}

function checkAugmentation(value: unknown, source: string): AugmentOptions {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `${source}: CCL option "augmentation" must be an object, got ${JSON.stringify(value)}`,
    );
  }
  for (const [part, setting] of Object.entries(value)) {
    if (!(AUGMENTATION_PARTS as readonly string[]).includes(part)) {
      throw new Error(
        `${source}: unknown augmentation part "${part}" (known: ${AUGMENTATION_PARTS.join(", ")})`,
      );
    }
    const ok = setting === false || typeof setting === "number" ||
      (typeof setting === "object" && setting !== null && !Array.isArray(setting));
    if (!ok) {
      throw new TypeError(
        `${source}: augmentation part "${part}" must be false, a number or an object, got ${
          JSON.stringify(setting)
        }`,
      );
    }
  }
  return value as AugmentOptions;
}
