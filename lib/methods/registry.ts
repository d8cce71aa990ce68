/**
 * Creates anomaly-detection methods by name, and says before any training what each can take
 * (options, image sizes, backbone stages).
 * @module
 */
import type { Backbone } from "../backbones/types.ts";
import { resolveDeSTSegConfig } from "./destseg/config.ts";
import { createDeSTSeg } from "./destseg/destseg.ts";
import { resolveDMADConfig } from "./dmad/config.ts";
import { createDMAD } from "./dmad/dmad.ts";
import { resolveDRAEMConfig } from "./draem/config.ts";
import { createDRAEM } from "./draem/draem.ts";
import { resolveRDConfig } from "./rd/config.ts";
import { createRD } from "./rd/rd.ts";
import type { SynthesisResources } from "./synthetic/synthesize.ts";
import type { AnomalyMethod } from "./types.ts";

/** What the runner may know about a method before building it. */
export interface MethodInfo {
  readonly name: string;
  /** One line: what the method is. */
  readonly summary: string;
  /** The input side must be a multiple of this (the method's deepest downsampling). */
  readonly sizeMultiple: number;
  /** Backbone stages the method needs (0: it uses no backbone). */
  readonly backboneStages: number;
  /**
   * Whether the method trains on synthetic anomalies (`prepareBatch`), and so takes a user's
   * texture folder (`resources.textures` of `create`).
   */
  readonly synthesizesAnomalies?: boolean;
  /** Validates `options` for a backbone architecture; throws a clear error naming the key. */
  checkOptions(architecture: string, options: Record<string, unknown>): void;
  create(
    backbone: Backbone,
    options: Record<string, unknown>,
    seed: number,
    resources?: SynthesisResources,
  ): AnomalyMethod;
}

const RD_INFO: MethodInfo = {
  name: "rd",
  summary: "Reverse Distillation (frozen encoder, one-class bottleneck, feature decoder)",
  sizeMultiple: 32,
  backboneStages: 3,
  checkOptions: (architecture, options) => void resolveRDConfig(architecture, options),
  create: (backbone, options, seed) => createRD(backbone, options, seed),
};

const DRAEM_INFO: MethodInfo = {
  name: "draem",
  summary: "DRAEM (reconstructive autoencoder + discriminative U-Net on synthetic anomalies)",
  // Five 2x2 poolings in the discriminative U-Net.
  sizeMultiple: 32,
  backboneStages: 0,
  synthesizesAnomalies: true,
  checkOptions: (_architecture, options) => void resolveDRAEMConfig(options),
  create: (_backbone, options, seed, resources) => createDRAEM(options, seed, resources),
};

const DESTSEG_INFO: MethodInfo = {
  name: "destseg",
  summary: "DeSTSeg (frozen teacher, denoising student, segmentation head; two stages)",
  // The student encoder's fourth stage is at stride 32.
  sizeMultiple: 32,
  backboneStages: 3,
  synthesizesAnomalies: true,
  checkOptions: (architecture, options) => void resolveDeSTSegConfig(architecture, options),
  create: (backbone, options, seed, resources) => createDeSTSeg(backbone, options, seed, resources),
};

const DMAD_INFO: MethodInfo = {
  name: "dmad",
  summary: "DMAD (RD skeleton on a learned pre-deformation of the image + VQ memory bottleneck)",
  // RD's skeleton: the bottleneck is at stride 32.
  sizeMultiple: 32,
  backboneStages: 3,
  checkOptions: (architecture, options) => void resolveDMADConfig(architecture, options),
  create: (backbone, options, seed) => createDMAD(backbone, options, seed),
};

const METHODS: readonly MethodInfo[] = [RD_INFO, DESTSEG_INFO, DRAEM_INFO, DMAD_INFO];

/** The names {@linkcode createMethod} knows. */
export const METHOD_NAMES: readonly string[] = METHODS.map((m) => m.name);

/** The methods that train on synthetic anomalies and so take a texture folder. */
export const SYNTHESIZING_METHODS: readonly string[] = METHODS
  .filter((m) => m.synthesizesAnomalies).map((m) => m.name);

/** A method name {@linkcode createMethod} knows. */
export type MethodName = string;

/** The registry entry of `name`; throws listing the known methods. */
export function methodInfo(name: string): MethodInfo {
  const info = METHODS.find((m) => m.name === name);
  if (!info) {
    throw new Error(
      `lib/methods/registry.ts: unknown method "${name}" (known: ${METHOD_NAMES.join(", ")})`,
    );
  }
  return info;
}

/**
 * What is wrong with running method `name` with `options` at `imageSize` over a backbone of
 * `architecture` with `stages` stages (empty: nothing). Runs before any data or weights load.
 *
 * @example
 * ```ts
 * import { methodProblems } from "./registry.ts";
 * const problems = methodProblems("rd", { imageSize: 48, architecture: "small_resnet" });
 * if (!problems[0].includes("multiple of 32")) throw new Error();
 * ```
 */
export function methodProblems(
  name: string,
  setting: {
    imageSize: number;
    architecture: string;
    stages?: number;
    options?: Record<string, unknown>;
  },
): string[] {
  let info: MethodInfo;
  try {
    info = methodInfo(name);
  } catch {
    return [`unknown method "${name}" (known: ${METHOD_NAMES.join(", ")})`];
  }
  const problems: string[] = [];
  if (!Number.isInteger(setting.imageSize) || setting.imageSize % info.sizeMultiple !== 0) {
    problems.push(
      `imageSize must be a multiple of ${info.sizeMultiple} for ${name} (it downsamples by ` +
        `${info.sizeMultiple}), got ${setting.imageSize}`,
    );
  }
  if (setting.stages !== undefined && setting.stages < info.backboneStages) {
    problems.push(
      `${name} needs a backbone with ${info.backboneStages} stages, "${setting.architecture}" ` +
        `has ${setting.stages}`,
    );
  }
  try {
    info.checkOptions(setting.architecture, setting.options ?? {});
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  return problems;
}

/**
 * Creates the method `name` over a frozen `backbone`, with `config` (JSON) overriding the
 * method's defaults for that backbone, initialised from `seed`. The method does not own the
 * backbone. `resources` reach methods that synthesise anomalies (textures); others ignore them.
 *
 * @example
 * ```ts ignore
 * import { createMethod } from "./registry.ts";
 * import type { Backbone } from "../backbones/types.ts";
 * declare const backbone: Backbone;
 * const rd = createMethod("rd", backbone, { learningRate: 1e-3 }, 7);
 * ```
 */
export function createMethod(
  name: string,
  backbone: Backbone,
  config: Record<string, unknown> = {},
  seed = 0,
  resources: SynthesisResources = {},
): AnomalyMethod {
  return methodInfo(name).create(backbone, config, seed, resources);
}
