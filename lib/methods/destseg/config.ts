/**
 * DeSTSeg's settings: student and segmentation-head sizes, the two training stages, the
 * optimisers, losses and scoring.
 * @module
 */

/** DeSTSeg's settings; JSON-serialisable. */
export interface DeSTSegConfig {
  /** Residual blocks per student encoder stage (ResNet-18: 2). */
  encoderBlocks: number;
  /** Residual blocks per student decoder stage (original: 2). */
  decoderBlocks: number;
  /** Width of the segmentation head's residual layer and ASPP (original: 256). */
  segWidth: number;
  /** Residual blocks of the segmentation head's `res` layer (original: 2). */
  segBlocks: number;
  /** ASPP dilation rates at 256² input (original: 6, 12, 18); scaled with the input size. */
  asppRates: number[];
  /** SGD learning rate of the student (original: 0.4). The top-level `learningRate` sets it. */
  learningRate: number;
  /** SGD learning rate of the segmentation head's residual layer (original: 0.1). */
  learningRateRes: number;
  /** SGD learning rate of the segmentation head's ASPP head (original: 0.01). */
  learningRateHead: number;
  /** SGD momentum and weight decay of every group (original: 0.9, 1e-4). */
  momentum: number;
  weightDecay: number;
  /** Share of the steps spent on the student before the head trains (original: 1000/5000). */
  studentShare: number;
  /** Focal loss gamma of the segmentation head (original: 4). */
  focalGamma: number;
  /** Image score: mean of the top T map values (original: 100 at 256²); 0: scaled by area. */
  topK: number;
  /** Probability of a synthetic anomaly per training image (original: 1). */
  anomalyProbability: number;
  bnMomentum: number;
  bnEpsilon: number;
}

/** Defaults for small backbones: one block per stage, a 64-wide head. */
export const DESTSEG_DEFAULTS: Readonly<DeSTSegConfig> = Object.freeze({
  encoderBlocks: 1,
  decoderBlocks: 1,
  segWidth: 64,
  segBlocks: 1,
  asppRates: [6, 12, 18],
  learningRate: 0.4,
  learningRateRes: 0.1,
  learningRateHead: 0.01,
  momentum: 0.9,
  weightDecay: 1e-4,
  studentShare: 0.2,
  focalGamma: 4,
  topK: 0,
  anomalyProbability: 1,
  bnMomentum: 0.1,
  bnEpsilon: 1e-5,
} as DeSTSegConfig);

/** The original architecture over ResNet-18; the small default for any other backbone. */
export function destsegPresetFor(backboneName: string): DeSTSegConfig {
  const base = { ...DESTSEG_DEFAULTS, asppRates: [...DESTSEG_DEFAULTS.asppRates] };
  if (backboneName === "resnet18") {
    return { ...base, encoderBlocks: 2, decoderBlocks: 2, segWidth: 256, segBlocks: 2 };
  }
  return base;
}

function fail(message: string): never {
  throw new Error(`lib/methods/destseg/config.ts: ${message}`);
}

/**
 * The backbone's preset overridden by `overrides`, validated.
 *
 * @example
 * ```ts
 * import { resolveDeSTSegConfig } from "./config.ts";
 * if (resolveDeSTSegConfig("resnet18", {}).segWidth !== 256) throw new Error();
 * ```
 */
export function resolveDeSTSegConfig(
  backboneName: string,
  overrides: Record<string, unknown> = {},
): DeSTSegConfig {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    fail(`config must be an object, got ${JSON.stringify(overrides)}`);
  }
  const keys = Object.keys(DESTSEG_DEFAULTS);
  for (const key of Object.keys(overrides)) {
    if (!keys.includes(key)) {
      fail(`unknown DeSTSeg config key "${key}" (known: ${keys.join(", ")})`);
    }
  }
  const c = { ...destsegPresetFor(backboneName), ...overrides } as DeSTSegConfig;
  for (const key of ["encoderBlocks", "decoderBlocks", "segWidth", "segBlocks"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) {
      fail(`${key} must be a positive integer, got ${c[key]}`);
    }
  }
  if (!Number.isInteger(c.topK) || c.topK < 0) fail(`topK must be an integer >= 0, got ${c.topK}`);
  for (const key of ["learningRate", "learningRateRes", "learningRateHead", "bnEpsilon"] as const) {
    if (!(c[key] > 0)) fail(`${key} must be > 0, got ${c[key]}`);
  }
  for (const key of ["momentum", "weightDecay", "anomalyProbability", "bnMomentum"] as const) {
    if (!(c[key] >= 0 && c[key] <= 1)) fail(`${key} must be in [0, 1], got ${c[key]}`);
  }
  if (!(c.studentShare > 0 && c.studentShare < 1)) {
    fail(`studentShare must be in (0, 1), got ${c.studentShare}`);
  }
  if (!(c.focalGamma >= 0)) fail(`focalGamma must be >= 0, got ${c.focalGamma}`);
  if (!Array.isArray(c.asppRates) || !c.asppRates.every((r) => r > 0)) {
    fail(`asppRates must be positive numbers, got ${JSON.stringify(c.asppRates)}`);
  }
  return { ...c, asppRates: [...c.asppRates] };
}
