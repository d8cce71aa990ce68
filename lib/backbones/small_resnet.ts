/**
 * `small_resnet`: a half-width ResNet-18 cut after its third stage (channels 32/64/128 at
 * strides 4/8/16), small enough for CPU runs (wasm, batch 16: ~25 ms at 64x64, ~100 ms at
 * 128x128, where ResNet-18 takes 85/340 ms), with pretrained weights shipped in
 * `weights/small_resnet.safetensors` (made by `scripts/pretrain_backbone.ts`, described in
 * `weights/small_resnet.json`).
 * @module
 */
import { FrozenResNet, type ResNetConfig, stateDictFromSafetensors } from "./resnet.ts";
import { readSafetensorsFile } from "./safetensors.ts";

/** The architecture: torchvision ResNet-18 layout, half width, stages 1-3. */
export const SMALL_RESNET_CONFIG: ResNetConfig = {
  name: "small_resnet",
  block: "basic",
  layers: [2, 2, 2],
  stemChannels: 32,
  stemKernel: 7,
  planes: [32, 64, 128],
  widthFactor: 1,
};

/** Where the shipped pretrained weights live, relative to this module. */
export const SMALL_RESNET_WEIGHTS_URL: URL = new URL(
  "../../weights/small_resnet.safetensors",
  import.meta.url,
);

/** Where the description of how the shipped weights were made lives. */
export const SMALL_RESNET_INFO_URL: URL = new URL(
  "../../weights/small_resnet.json",
  import.meta.url,
);

/**
 * Loads `small_resnet` with the shipped pretrained weights (or those at `url`).
 * A missing file is an error that says how to regenerate it.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { loadSmallResnet } from "./small_resnet.ts";
 * const backbone = await loadSmallResnet();
 * console.log(backbone.channels); // [32, 64, 128]
 * backbone.dispose();
 * ```
 */
export async function loadSmallResnet(url: URL = SMALL_RESNET_WEIGHTS_URL): Promise<FrozenResNet> {
  if (url.protocol === "file:") {
    try {
      await Deno.stat(url);
    } catch {
      throw new Error(
        `small_resnet: pretrained weights not found at ${decodeURIComponent(url.pathname)}; ` +
          `recreate them with \`deno run -A scripts/pretrain_backbone.ts\`, or use the ` +
          `backbone "small_resnet:random" for randomly initialised features`,
      );
    }
  }
  const file = await readSafetensorsFile(url);
  const { stateDict, ignored } = stateDictFromSafetensors(SMALL_RESNET_CONFIG, file);
  return new FrozenResNet(SMALL_RESNET_CONFIG, stateDict, {
    ignoredTensors: ignored,
    source: file.source,
  });
}
