import type * as tf from "@tensorflow/tfjs-core";

/**
 * A frozen, pretrained feature extractor returning multi-scale feature maps (NHWC).
 * Batch norm runs in eval mode (running statistics), and no variable is trainable.
 */
export interface Backbone {
  /** e.g. "resnet18", "wide_resnet50_2", "small_resnet". */
  readonly name: string;
  /** Channels of each returned stage, e.g. [256, 512, 1024] for WRN-50-2 stages 1-3. */
  readonly channels: readonly number[];
  /** Downsampling factor of each returned stage relative to the input, e.g. [4, 8, 16]. */
  readonly strides: readonly number[];
  /** NHWC images normalised with ImageNet mean/std -> one feature map per stage. */
  apply(images: tf.Tensor4D): tf.Tensor4D[];
  /** Frees the weights. */
  dispose(): void;
}
