/**
 * The paper's training and evaluation settings as named presets, and the small-scale settings
 * used when no real data is given.
 * @module
 */
import type { PartialConfig } from "../experiment/config.ts";

/** Settings shared by every run of a reproduced table. */
export interface TrainingPreset {
  /** Preset name, recorded with the results. */
  name: string;
  /** One line saying what this preset is, for titles and the README. */
  description: string;
  imageSize: number;
  /** Backbone spec (see `loadBackbone`). */
  backbone: string;
  batchSize: number;
  epochs: number;
  /** Learning rate of the method's trainable parts (RD: bottleneck + decoder). */
  learningRate: number;
  /** Gradient-norm clip of CCL runs (the released RD+CCL code clips at 5); 0 for none. */
  cclClipNorm: number;
  /** CCL options of every `+CCL` run. */
  ccl: Record<string, number | boolean>;
  /** RD's map post-processing: ADer-style evaluation (sigma-4 blur, mean over scales). */
  rdOptions: Record<string, unknown>;
  /** Classes per dataset to use (undefined: all). Only the embedded stand-in restricts them. */
  classes?: string[];
  seed: number;
}

/** CCL as the paper sets it: temperatures 0.05, λ1 = λ2 = 1, projector learning rate 1e-3. */
export const PAPER_CCL: Readonly<Record<string, number>> = Object.freeze({
  temperatureGlobal: 0.05,
  temperatureLocal: 0.05,
  lambdaGlobal: 1,
  lambdaLocal: 1,
  projectorLearningRate: 1e-3,
});

/**
 * ADer-style evaluation for RD: anomaly map blurred with a Gaussian of sigma 4, mean over the
 * three scales, image score = max of the map (RD's rule), metrics per class then averaged (the
 * runner always averages per class).
 */
export const ADER_RD_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  blurSigma: 4,
  mapReduction: "mean",
});

/**
 * The paper's settings: 256 px, WideResNet-50-2 (torchvision weights as a safetensors file you
 * provide; nothing is downloaded), batch 16, Adam lr 5e-3 (projector 1e-3), `epochs` epochs.
 * The paper trains 100 to 200 epochs depending on the method; ADer's benchmark uses 100.
 *
 * @example
 * ```ts
 * import { paperPreset } from "./settings.ts";
 * const preset = paperPreset("/weights/wide_resnet50_2.safetensors", 200);
 * if (preset.backbone !== "wide_resnet50_2:/weights/wide_resnet50_2.safetensors") throw new Error();
 * ```
 */
export function paperPreset(weights: string, epochs: 100 | 200 | number = 200): TrainingPreset {
  if (weights.trim() === "") {
    throw new Error(
      "the paper's settings need WideResNet-50-2 weights: pass --weights PATH.safetensors " +
        "(torchvision's wide_resnet50_2 ImageNet weights converted to safetensors)",
    );
  }
  return {
    name: `paper-${epochs}`,
    description: `the paper's settings: 256 px, WideResNet-50-2, batch 16, lr 5e-3 ` +
      `(projector 1e-3), ${epochs} epochs, temperatures 0.05, λ 1, ADer-style evaluation`,
    imageSize: 256,
    backbone: `wide_resnet50_2:${weights}`,
    batchSize: 16,
    epochs,
    learningRate: 5e-3,
    cclClipNorm: 5,
    ccl: { ...PAPER_CCL },
    rdOptions: { ...ADER_RD_OPTIONS },
    seed: 0,
  };
}

/**
 * The stand-in when no real data is given: the same pipeline (same CCL settings, same
 * evaluation) on the embedded synthetic dataset at 64 px with the shipped small backbone.
 * `quick` trains 2 epochs on three classes; otherwise 8 epochs on all seven.
 */
export function embeddedPreset(quick = false): TrainingPreset {
  const epochs = quick ? 2 : 8;
  return {
    name: quick ? "embedded-quick" : "embedded",
    description: `the embedded synthetic dataset at small scale (64 px, shipped small_resnet, ` +
      `${epochs} epochs${quick ? ", 3 classes" : ""}) — not the paper's data or settings`,
    imageSize: 64,
    backbone: "small_resnet",
    batchSize: 16,
    epochs,
    learningRate: 5e-3,
    cclClipNorm: 5,
    ccl: { ...PAPER_CCL },
    rdOptions: { ...ADER_RD_OPTIONS },
    ...(quick ? { classes: ["pill", "screw", "woven"] } : {}),
    seed: 0,
  };
}

/** The config fields a preset sets for one method with or without CCL. */
export function presetConfig(
  preset: TrainingPreset,
  method: string,
  withCcl: boolean,
): PartialConfig {
  return {
    method,
    methodOptions: method === "rd" ? { ...preset.rdOptions } : {},
    ccl: withCcl ? { ...preset.ccl } : null,
    imageSize: preset.imageSize,
    backbone: preset.backbone,
    batchSize: preset.batchSize,
    epochs: preset.epochs,
    learningRate: preset.learningRate,
    clipNorm: withCcl ? preset.cclClipNorm : 0,
    seed: preset.seed,
  };
}
