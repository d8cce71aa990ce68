/**
 * Configuration of Reverse Distillation (RD): architecture of the one-class bottleneck (OCBE)
 * and the decoder, optimiser learning rate and anomaly-map post-processing.
 * @module
 */
import type { BlurPadding } from "../gaussian_blur.ts";

import type { BlockType } from "../components/residual.ts";

/** Residual block family of the OCBE and the decoder (RD uses the encoder's own). */
export type RDBlockType = BlockType;

/** How the per-scale anomaly maps are combined. */
export type MapReduction = "mean" | "sum";

/** RD's settings; JSON-serialisable. */
export interface RDConfig {
  /**
   * Residual block type: "basic" (two 3x3 convs, ResNet-18 style) or "bottleneck"
   * (1x1 - 3x3 - 1x1, expansion 4, ResNet-50 style). RD uses the encoder's type.
   */
  blockType: RDBlockType;
  /**
   * Width multiplier of bottleneck blocks' inner convs relative to out/4
   * (2 for wide_resnet50_2, 1 for resnet50); ignored by basic blocks.
   */
  widthFactor: number;
  /** Residual blocks of the OCBE's fusion layer ("bn_layer"); the first has stride 2. */
  bottleneckBlocks: number;
  /**
   * Residual blocks per decoder stage, deepest first: [stage to H/16, to H/8, to H/4]. The first
   * block of each stage upsamples with 2x2 stride-2 transposed convs.
   */
  decoderBlocks: [number, number, number];
  /** Adam learning rate of the bottleneck + decoder (SPEC: 5e-3). */
  learningRate: number;
  /**
   * Combination of the upsampled per-scale maps: "mean" (SPEC) or "sum" (the official RD
   * evaluation code adds them; only the score scale differs, not the ranking of one scale).
   */
  mapReduction: MapReduction;
  /** Sigma of the Gaussian blur of the anomaly map, pixels at input resolution (4). */
  blurSigma: number;
  /** Border handling of the blur ("reflect" = scipy's default, as the RD code). */
  blurPadding: BlurPadding;
  /** Batch-norm running-average momentum (PyTorch 0.1). */
  bnMomentum: number;
  /** Batch-norm epsilon (PyTorch 1e-5). */
  bnEpsilon: number;
}

/**
 * Defaults for small backbones (e.g. "small_resnet" and test backbones): basic blocks, one per
 * stage — cheap enough for CPU training.
 */
export const RD_DEFAULTS: Readonly<RDConfig> = Object.freeze({
  blockType: "basic",
  widthFactor: 1,
  bottleneckBlocks: 1,
  decoderBlocks: [1, 1, 1],
  learningRate: 5e-3,
  mapReduction: "mean",
  blurSigma: 4,
  blurPadding: "reflect",
  bnMomentum: 0.1,
  bnEpsilon: 1e-5,
} as RDConfig);

/**
 * The official RD architecture for a backbone name: wide_resnet50_2 -> bottleneck blocks
 * (width x2), OCBE 3 blocks, decoder [3, 4, 6]; resnet50 -> the same with width x1;
 * resnet18 -> basic blocks, OCBE 2, decoder [2, 2, 2]; anything else -> {@linkcode RD_DEFAULTS}.
 *
 * @example
 * ```ts
 * import { rdPresetFor } from "./config.ts";
 * if (rdPresetFor("wide_resnet50_2").blockType !== "bottleneck") throw new Error();
 * if (rdPresetFor("wide_resnet50_2:random:0").blockType !== "bottleneck") throw new Error();
 * ```
 */
export function rdPresetFor(backboneName: string): RDConfig {
  const base: RDConfig = { ...RD_DEFAULTS, decoderBlocks: [...RD_DEFAULTS.decoderBlocks] };
  // Loaded backbones are named like "wide_resnet50_2:random:0" or "resnet18:/path": the
  // architecture is the part before the first colon.
  switch (backboneName.split(":")[0]) {
    case "wide_resnet50_2":
      return {
        ...base,
        blockType: "bottleneck",
        widthFactor: 2,
        bottleneckBlocks: 3,
        decoderBlocks: [3, 4, 6],
      };
    case "resnet50":
      return {
        ...base,
        blockType: "bottleneck",
        widthFactor: 1,
        bottleneckBlocks: 3,
        decoderBlocks: [3, 4, 6],
      };
    case "resnet18":
      return { ...base, blockType: "basic", bottleneckBlocks: 2, decoderBlocks: [2, 2, 2] };
    default:
      return base;
  }
}

const KEYS = Object.keys(RD_DEFAULTS) as (keyof RDConfig)[];

function fail(message: string): never {
  throw new Error(`lib/methods/rd/config.ts: ${message}`);
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}

function isPositive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/**
 * The backbone's preset overridden by `overrides` (e.g. parsed JSON), validated: unknown keys
 * and bad values are errors.
 *
 * @example
 * ```ts
 * import { resolveRDConfig } from "./config.ts";
 * const config = resolveRDConfig("small_resnet", { mapReduction: "sum" });
 * if (config.learningRate !== 5e-3) throw new Error("default learning rate");
 * ```
 */
export function resolveRDConfig(
  backboneName: string,
  overrides: Partial<RDConfig> | Record<string, unknown> = {},
): RDConfig {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    fail(`config must be an object, got ${JSON.stringify(overrides)}`);
  }
  for (const key of Object.keys(overrides)) {
    if (!(KEYS as string[]).includes(key)) {
      fail(`unknown RD config key "${key}" (known: ${KEYS.join(", ")})`);
    }
  }
  const config = { ...rdPresetFor(backboneName), ...overrides } as RDConfig;
  validateRDConfig(config);
  return { ...config, decoderBlocks: [...config.decoderBlocks] };
}

/** Throws a clear error if any field of `config` is out of range. */
export function validateRDConfig(config: RDConfig): void {
  if (config.blockType !== "basic" && config.blockType !== "bottleneck") {
    fail(`blockType must be "basic" or "bottleneck", got ${JSON.stringify(config.blockType)}`);
  }
  if (!isPositiveInt(config.widthFactor)) {
    fail(`widthFactor must be a positive integer, got ${config.widthFactor}`);
  }
  if (!isPositiveInt(config.bottleneckBlocks)) {
    fail(`bottleneckBlocks must be a positive integer, got ${config.bottleneckBlocks}`);
  }
  if (
    !Array.isArray(config.decoderBlocks) || config.decoderBlocks.length !== 3 ||
    !config.decoderBlocks.every(isPositiveInt)
  ) {
    fail(
      `decoderBlocks must be three positive integers, got ${JSON.stringify(config.decoderBlocks)}`,
    );
  }
  if (!isPositive(config.learningRate)) {
    fail(`learningRate must be > 0, got ${config.learningRate}`);
  }
  if (config.mapReduction !== "mean" && config.mapReduction !== "sum") {
    fail(`mapReduction must be "mean" or "sum", got ${JSON.stringify(config.mapReduction)}`);
  }
  if (!isPositive(config.blurSigma)) fail(`blurSigma must be > 0, got ${config.blurSigma}`);
  if (config.blurPadding !== "reflect" && config.blurPadding !== "zero") {
    fail(`blurPadding must be "reflect" or "zero", got ${JSON.stringify(config.blurPadding)}`);
  }
  if (
    !(typeof config.bnMomentum === "number" && config.bnMomentum >= 0 && config.bnMomentum <= 1)
  ) {
    fail(`bnMomentum must be in [0, 1], got ${config.bnMomentum}`);
  }
  if (!isPositive(config.bnEpsilon)) fail(`bnEpsilon must be > 0, got ${config.bnEpsilon}`);
}
