/**
 * The bridge between the framework's image convention and a method's: the runner, the
 * objectives and the analyses hand ImageNet-normalised images around; a method that declares
 * `inputNormalization: "unit"` (DRAEM) gets them back in [0, 1].
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { IMAGENET_MEAN, IMAGENET_STD } from "../data/image.ts";
import type { AnomalyMethod, PredictOptions, TrainBatch } from "./types.ts";

/** ImageNet-normalised NHWC images back to [0, 1]: x · std + mean per channel. */
export function imageNetToUnit(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() =>
    tf.add(tf.mul(images, tf.tensor1d([...IMAGENET_STD])), tf.tensor1d([...IMAGENET_MEAN]))
  );
}

/**
 * `method` taking ImageNet-normalised images in every entry point, whatever it declares:
 * itself when it declares `"imagenet"`, otherwise a view that converts first.
 *
 * @example
 * ```ts ignore
 * import { acceptImageNetInput } from "./normalized_method.ts";
 * const method = acceptImageNetInput(createMethod("draem", backbone, {}, 0));
 * ```
 */
export function acceptImageNetInput(method: AnomalyMethod): AnomalyMethod {
  if (method.inputNormalization === "imagenet") return method;
  if (method.inputNormalization !== "unit") {
    throw new Error(
      `lib/methods/normalized_method.ts: method "${method.name}" declares unknown input ` +
        `normalisation ${JSON.stringify(method.inputNormalization)}`,
    );
  }
  const convertBatch = (batch: TrainBatch): TrainBatch => ({
    ...batch,
    images: imageNetToUnit(batch.images),
    augmented: batch.augmented ? imageNetToUnit(batch.augmented) : undefined,
    synthetic: batch.synthetic
      ? { images: imageNetToUnit(batch.synthetic.images), masks: batch.synthetic.masks }
      : undefined,
  });
  const withConverted = <T>(images: tf.Tensor4D, run: (unit: tf.Tensor4D) => T): T => {
    const unit = imageNetToUnit(images);
    try {
      return run(unit);
    } finally {
      unit.dispose();
    }
  };
  // Explicit delegation: methods are classes with private fields, so `this` must stay `method`.
  return {
    name: method.name,
    inputNormalization: "imagenet",
    lossComponents: method.lossComponents,
    frozenChannels: method.frozenChannels,
    acceptsFeatureAdapter: method.acceptsFeatureAdapter,
    parameterGroups: () => method.parameterGroups(),
    phases: method.phases ? () => method.phases!() : undefined,
    prepareBatch: method.prepareBatch
      ? (batch, rng) => method.prepareBatch!(batch, rng)
      : undefined,
    beginStep: method.beginStep ? (context) => method.beginStep!(context) : undefined,
    // Inside the gradient tape TF.js keeps the converted inputs as needed; outside, the
    // caller's tidy frees them.
    forward: (batch, options) => method.forward(convertBatch(batch), options),
    predict: (images, options?: PredictOptions) =>
      withConverted(images, (unit) => method.predict(unit, options)),
    compactFeatures: (images, options?: PredictOptions) =>
      withConverted(images, (unit) => method.compactFeatures(unit, options)),
    reconstructedFeatures: method.reconstructedFeatures
      ? (images, options?: PredictOptions) =>
        withConverted(images, (unit) => method.reconstructedFeatures!(unit, options))
      : undefined,
    namedVariables: () => method.namedVariables(),
    dispose: () => method.dispose(),
  };
}
