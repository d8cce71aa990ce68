import type * as tf from "@tensorflow/tfjs-core";

/** One training batch as the runner hands it to a method. */
export interface TrainBatch {
  /** NHWC, ImageNet-normalised, normal training images. */
  images: tf.Tensor4D;
  /** Class id (true class or pseudo-label) of each image. */
  classIds: Int32Array;
  /**
   * The augmented view of each image (same shape as `images`), present when the objective
   * declares `needsAugmentedView` (CCL does).
   */
  augmented?: tf.Tensor4D;
}

/** What the CCL wrapper may ask of a method's forward pass. */
export interface ForwardOptions {
  /**
   * Whether the method's own loss is needed. CCL runs the augmented view with `false`,
   * so a method may skip the work that only its loss needs (e.g. RD's decoder).
   */
  computeLoss: boolean;
  /**
   * Transforms the frozen multi-scale features before the method's trainable part sees them
   * (CCL's per-scale projector and feature noise). Methods whose trainable part does not start
   * from frozen features ignore it and report `acceptsFeatureAdapter = false`.
   */
  adaptFeatures?: (frozen: tf.Tensor4D[]) => tf.Tensor4D[];
}

/** Everything a forward pass returns: the method's loss and the features CCL needs. */
export interface ForwardOutput {
  /** The method's own loss (a scalar); absent when `computeLoss` was false. */
  loss?: tf.Scalar;
  /** Trainable multi-scale dense features (after `adaptFeatures`), NHWC; for local CL. */
  dense: tf.Tensor4D[];
  /** Features used to match pixels across views (raw/frozen), one per dense scale, same H and W. */
  matching: tf.Tensor4D[];
  /** One pooled compact feature per image, [B, D]; for global CL. */
  compact: tf.Tensor2D;
}

/** What the CCL wrapper may ask of inference. */
export interface PredictOptions {
  /**
   * The same feature transform as `ForwardOptions.adaptFeatures`, for inference (CCL's
   * projector without feature noise): a model trained on adapted features must be evaluated on
   * them too. Ignored by methods with `acceptsFeatureAdapter = false`.
   */
  adaptFeatures?: (frozen: tf.Tensor4D[]) => tf.Tensor4D[];
}

/** Per-image anomaly maps at input resolution and image-level scores. */
export interface Prediction {
  /** [B, H, W], higher = more anomalous. */
  maps: tf.Tensor3D;
  /** [B] image anomaly scores. */
  scores: tf.Tensor1D;
}

/** A group of variables trained with one learning rate. */
export interface ParameterGroup {
  name: string;
  variables: tf.Variable[];
  learningRate: number;
}

/**
 * The interface every anomaly-detection method (RD, DeSTSeg, SimpleNet, DRAEM) implements,
 * and the one the CCL wrapper and the experiment runner use. A method never owns its optimiser.
 */
export interface AnomalyMethod {
  readonly name: string;
  /** Channels of each `dense` scale returned by `forward` (what CCL's projector must match). */
  readonly frozenChannels: readonly number[];
  /** True if `forward` honours `options.adaptFeatures`. */
  readonly acceptsFeatureAdapter: boolean;
  /** Trainable variables, grouped by learning rate. */
  parameterGroups(): ParameterGroup[];
  /** Training-mode forward pass; call inside `tf.variableGrads` / `optimizer.minimize`. */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput;
  /** Inference: anomaly maps and scores for NHWC images. */
  predict(images: tf.Tensor4D, options?: PredictOptions): Prediction;
  /**
   * Inference-mode compact feature per image, [B, D] (what `forward` returns as `compact`):
   * the feature whose clustering by class measures inter-class confusion.
   */
  compactFeatures(images: tf.Tensor4D, options?: PredictOptions): tf.Tensor2D;
  /** All variables by stable name, for checkpoints (trainable ones at least). */
  namedVariables(): Map<string, tf.Variable>;
  dispose(): void;
}

/**
 * What the trainer minimises: a method alone, or a method wrapped by CCL. The trainer keeps one
 * Adam optimiser per parameter group, differentiates `losses(batch).total`, clips the global
 * gradient norm and applies the update.
 */
export interface Objective {
  readonly name: string;
  /** Whether batches must carry `augmented`. */
  readonly needsAugmentedView: boolean;
  /** All trainable variables, grouped by learning rate. */
  parameterGroups(): ParameterGroup[];
  /** Named scalar losses for the batch; `total` is what is minimised. Runs inside the gradient tape. */
  losses(batch: TrainBatch): Record<string, tf.Scalar> & { total: tf.Scalar };
  /** Variables to checkpoint by stable name (the method's and the objective's own, e.g. projectors). */
  namedVariables(): Map<string, tf.Variable>;
  /** Inference with everything the objective trained (CCL's projector included, without noise). */
  predict(images: tf.Tensor4D): Prediction;
  /** The method's inference-mode compact features, with the same feature adapter as `predict`. */
  compactFeatures(images: tf.Tensor4D): tf.Tensor2D;
  /**
   * Called by the runner before step `step` (0-based, counted over the whole training). An
   * objective that draws random numbers per step re-seeds from it, so a resumed run draws
   * exactly what an uninterrupted one would.
   */
  beginStep?(step: number): void;
}
