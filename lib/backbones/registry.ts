/**
 * Backbones by spec string, as experiment configs and command lines name them:
 *
 * - `small_resnet`: the shipped pretrained small ResNet (runs anywhere, CPU-friendly);
 * - `ARCH:random` or `ARCH:random:SEED`: random torchvision-style initialisation (seeded);
 * - `ARCH:PATH`: weights from a safetensors file with torchvision/timm parameter names,
 *
 * where ARCH is `small_resnet`, `resnet18`, `resnet34`, `resnet50` or `wide_resnet50_2`.
 * ImageNet weights cannot be downloaded here; on a machine with PyTorch, make a file with
 * `safetensors.torch.save_file(torchvision.models.wide_resnet50_2(weights="IMAGENET1K_V1")
 * .state_dict(), "wide_resnet50_2.safetensors")` and pass `wide_resnet50_2:wide_resnet50_2.safetensors`.
 * @module
 */
import {
  FrozenResNet,
  randomResNetStateDict,
  RESNET_CONFIGS,
  type ResNetConfig,
  stateDictFromSafetensors,
} from "./resnet.ts";
import { readSafetensorsFile } from "./safetensors.ts";
import { loadSmallResnet, SMALL_RESNET_CONFIG } from "./small_resnet.ts";

/** Architectures a spec may name. */
export const BACKBONE_ARCHITECTURES: Readonly<Record<string, ResNetConfig>> = {
  small_resnet: SMALL_RESNET_CONFIG,
  ...RESNET_CONFIGS,
};

/** Where a backbone's weights come from. */
export type WeightSource =
  | { kind: "shipped" }
  | { kind: "random"; seed?: number }
  | { kind: "file"; path: string };

/** A parsed backbone spec. */
export interface BackboneSpec {
  architecture: string;
  weights: WeightSource;
}

/** Options of {@linkcode loadBackbone}. */
export interface LoadBackboneOptions {
  /** Seed for `ARCH:random` when the spec does not carry one (default 0). */
  seed?: number;
}

/**
 * Splits a spec into architecture and weight source (see the module docs for the grammar).
 * Only the first `:` separates, so paths may contain `:`.
 */
export function parseBackboneSpec(spec: string): BackboneSpec {
  const text = spec.trim();
  const colon = text.indexOf(":");
  const architecture = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? "" : text.slice(colon + 1);
  if (!(architecture in BACKBONE_ARCHITECTURES)) {
    throw new Error(
      `unknown backbone "${architecture}" in spec "${spec}"; expected one of ` +
        `${Object.keys(BACKBONE_ARCHITECTURES).join(", ")}`,
    );
  }
  if (colon < 0) {
    if (architecture !== "small_resnet") {
      throw new Error(
        `backbone "${architecture}" has no shipped weights: give a safetensors file ` +
          `("${architecture}:PATH", torchvision/timm parameter names) or "${architecture}:random"`,
      );
    }
    return { architecture, weights: { kind: "shipped" } };
  }
  const random = /^random(?::(\d+))?$/.exec(rest);
  if (random) {
    return {
      architecture,
      weights: { kind: "random", seed: random[1] === undefined ? undefined : Number(random[1]) },
    };
  }
  if (rest === "") throw new Error(`backbone spec "${spec}" has an empty path after ":"`);
  return { architecture, weights: { kind: "file", path: rest } };
}

/**
 * Loads a frozen backbone from a spec string.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { loadBackbone } from "./registry.ts";
 * const backbone = await loadBackbone("small_resnet");
 * const features = backbone.apply(tf.zeros([2, 64, 64, 3])); // [2,16,16,32] [2,8,8,64] [2,4,4,128]
 * tf.dispose(features);
 * backbone.dispose();
 * ```
 */
export async function loadBackbone(
  spec: string,
  options: LoadBackboneOptions = {},
): Promise<FrozenResNet> {
  const { architecture, weights } = parseBackboneSpec(spec);
  const config = BACKBONE_ARCHITECTURES[architecture];
  switch (weights.kind) {
    case "shipped":
      return await loadSmallResnet();
    case "random": {
      const seed = weights.seed ?? options.seed ?? 0;
      return new FrozenResNet(config, randomResNetStateDict(config, seed), {
        name: `${architecture}:random:${seed}`,
        source: `random init (seed ${seed})`,
      });
    }
    case "file": {
      const file = await readSafetensorsFile(weights.path);
      const { stateDict, ignored } = stateDictFromSafetensors(config, file);
      return new FrozenResNet(config, stateDict, { ignoredTensors: ignored, source: file.source });
    }
  }
}
