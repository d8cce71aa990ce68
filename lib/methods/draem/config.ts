/**
 * DRAEM's settings: network widths, optimiser, loss weights, anomaly synthesis and scoring.
 * @module
 */

/** DRAEM's settings; JSON-serialisable. */
export interface DRAEMConfig {
  /** Base width of the reconstructive autoencoder (original: 128). */
  reconstructiveWidth: number;
  /** Base width of the discriminative U-Net (original: 64). */
  discriminativeWidth: number;
  /** Adam learning rate of both networks (original: 1e-4). */
  learningRate: number;
  /** Adam's betas (original: PyTorch's defaults 0.9, 0.999). */
  beta1: number;
  beta2: number;
  /** Learning rate x0.2 at these shares of training (original: 0.8 and 0.9 of the epochs). */
  milestones: number[];
  /** Focal loss gamma (original: 2). */
  focalGamma: number;
  /** SSIM window (original: 11, Gaussian sigma 1.5). */
  ssimWindow: number;
  /** Probability that a training image gets a synthetic anomaly (original: 0.5). */
  anomalyProbability: number;
  /**
   * Side of the mean filter before the max that gives the image score (original: 21 at 256²);
   * 0: 21 scaled to the input size (nearest odd number).
   */
  scoreFilterSize: number;
  /** Batch-norm momentum and epsilon (PyTorch's 0.1, 1e-5). */
  bnMomentum: number;
  bnEpsilon: number;
}

/**
 * Defaults: the original's optimiser, losses and synthesis; narrow networks (16 and 16 base
 * channels instead of 128 and 64) so that CPU training is practical. Set the widths for the
 * original architecture.
 */
export const DRAEM_DEFAULTS: Readonly<DRAEMConfig> = Object.freeze({
  reconstructiveWidth: 16,
  discriminativeWidth: 16,
  learningRate: 1e-4,
  beta1: 0.9,
  beta2: 0.999,
  milestones: [0.8, 0.9],
  focalGamma: 2,
  ssimWindow: 11,
  anomalyProbability: 0.5,
  scoreFilterSize: 0,
  bnMomentum: 0.1,
  bnEpsilon: 1e-5,
} as DRAEMConfig);

function fail(message: string): never {
  throw new Error(`lib/methods/draem/config.ts: ${message}`);
}

/**
 * {@linkcode DRAEM_DEFAULTS} overridden by `overrides`, validated: unknown keys and bad values
 * are errors naming the key.
 *
 * @example
 * ```ts
 * import { resolveDRAEMConfig } from "./config.ts";
 * if (resolveDRAEMConfig({ learningRate: 1e-3 }).focalGamma !== 2) throw new Error();
 * ```
 */
export function resolveDRAEMConfig(overrides: Record<string, unknown> = {}): DRAEMConfig {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    fail(`config must be an object, got ${JSON.stringify(overrides)}`);
  }
  const keys = Object.keys(DRAEM_DEFAULTS);
  for (const key of Object.keys(overrides)) {
    if (!keys.includes(key)) fail(`unknown DRAEM config key "${key}" (known: ${keys.join(", ")})`);
  }
  const config = { ...DRAEM_DEFAULTS, ...overrides } as DRAEMConfig;
  const positiveInt = (key: keyof DRAEMConfig) => {
    const v = config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
  };
  positiveInt("reconstructiveWidth");
  positiveInt("discriminativeWidth");
  positiveInt("ssimWindow");
  if (config.ssimWindow % 2 === 0) fail(`ssimWindow must be odd, got ${config.ssimWindow}`);
  if (!(config.learningRate > 0)) fail(`learningRate must be > 0, got ${config.learningRate}`);
  for (const key of ["beta1", "beta2", "anomalyProbability", "bnMomentum"] as const) {
    const v = config[key];
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) fail(`${key} must be in [0, 1], got ${v}`);
  }
  if (!(config.focalGamma >= 0)) fail(`focalGamma must be >= 0, got ${config.focalGamma}`);
  if (!(config.bnEpsilon > 0)) fail(`bnEpsilon must be > 0, got ${config.bnEpsilon}`);
  if (
    !Array.isArray(config.milestones) ||
    !config.milestones.every((m) => typeof m === "number" && m > 0 && m < 1)
  ) {
    fail(
      `milestones must be shares of training in (0, 1), got ${JSON.stringify(config.milestones)}`,
    );
  }
  const filter = config.scoreFilterSize;
  if (!(Number.isInteger(filter) && filter >= 0 && (filter === 0 || filter % 2 === 1))) {
    fail(`scoreFilterSize must be 0 (scaled) or an odd positive integer, got ${filter}`);
  }
  return { ...config, milestones: [...config.milestones] };
}
