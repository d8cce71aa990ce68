/**
 * Frozen pretrained feature extractors (ResNets in torchvision/timm layout, and the shipped
 * CPU-sized `small_resnet`), loaded by spec string, plus a plain-TypeScript safetensors
 * reader/writer.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { loadBackbone } from "./mod.ts";
 * const backbone = await loadBackbone("small_resnet");
 * const [f1, f2, f3] = backbone.apply(tf.zeros([1, 64, 64, 3]));
 * tf.dispose([f1, f2, f3]);
 * backbone.dispose();
 * ```
 * @module
 */
export type { Backbone } from "./types.ts";
export * from "./registry.ts";
export * from "./resnet.ts";
export * from "./small_resnet.ts";
export * from "./safetensors.ts";
export * from "./layers.ts";
