import type * as tf from "@tensorflow/tfjs-core";
import type { OptimizerSpec } from "../optim/types.ts";

/**
 * How a method wants its input images: `"imagenet"` ((x - mean) / std with ImageNet
 * statistics, for methods over a pretrained backbone) or `"unit"` (plain [0, 1] RGB, DRAEM).
 * The runner and every objective hand ImageNet-normalised tensors around;
 * {@linkcode AnomalyMethod} methods receive what they declare (see `normalized_method.ts`).
 */
export type InputNormalization = "imagenet" | "unit";

/**
 * One training batch as plain arrays in [0, 1], before normalisation: what a method's
 * `prepareBatch` sees.
 */
export interface RawBatch {
  /** `B * H * W * 3` values in [0, 1], NHWC. */
  images: Float32Array;
  /** [B, H, W]. */
  shape: [number, number, number];
}

/** What a method's `prepareBatch` adds: images with synthetic anomalies and their masks. */
export interface SyntheticArrays {
  /** `B * H * W * 3` values in [0, 1]: the images with pasted anomalies. */
  images: Float32Array;
  /** `B * H * W` values in [0, 1]: where anomalies were pasted (1) or not (0). */
  masks: Float32Array;
}

/** The synthetic part of a training batch as tensors. */
export interface SyntheticBatch {
  /** NHWC images with synthetic anomalies, same normalisation as `TrainBatch.images`. */
  images: tf.Tensor4D;
  /** [B, H, W, 1] anomaly masks in [0, 1]. */
  masks: tf.Tensor4D;
}

/** One training batch as the runner hands it to an objective (and the objective to a method). */
export interface TrainBatch {
  /**
   * NHWC normal training images: ImageNet-normalised at the objective boundary; a method
   * receives them in its declared {@linkcode InputNormalization}.
   */
  images: tf.Tensor4D;
  /** Class id (true class or pseudo-label) of each image. */
  classIds: Int32Array;
  /**
   * The augmented view of each image (same shape as `images`), present when the objective
   * declares `needsAugmentedView` (CCL does).
   */
  augmented?: tf.Tensor4D;
  /**
   * Images with synthetic anomalies and their masks, made by the method's `prepareBatch` from
   * `images` (DRAEM, DeSTSeg); absent for methods without one.
   */
  synthetic?: SyntheticBatch;
}

/** Where training stands, handed to a method before each step. */
export interface StepContext {
  /** 0-based step over the whole training of the unit. */
  step: number;
  /** Total steps of the unit's training. */
  totalSteps: number;
  /** The name of the current training phase (`"train"` for single-phase methods). */
  phase: string;
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
  /**
   * The named terms `loss` is made of (e.g. DRAEM's `l2`, `ssim`, `focal`), for the log; the
   * keys are the method's `lossComponents`. Absent for single-term methods.
   */
  components?: Record<string, tf.Scalar>;
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

/** A method's reconstruction in its own feature space (see `reconstructedFeatures`). */
export interface ReconstructedFeatures {
  /** What is reconstructed, one NHWC map per scale. */
  target: tf.Tensor4D[];
  /** The reconstruction, same shapes as `target`. */
  reconstruction: tf.Tensor4D[];
}

/** Per-image anomaly maps at input resolution and image-level scores. */
export interface Prediction {
  /** [B, H, W], higher = more anomalous. */
  maps: tf.Tensor3D;
  /** [B] image anomaly scores. */
  scores: tf.Tensor1D;
}

/** How a group's learning rate changes over training (a function of the step). */
export type LearningRateSchedule =
  | { kind: "constant" }
  /**
   * Multiplied by `gamma` at each milestone (a fraction of the total steps), as PyTorch's
   * `MultiStepLR` (DRAEM: milestones [0.8, 0.9], gamma 0.2).
   */
  | { kind: "multistep"; milestones: number[]; gamma: number }
  /**
   * Cosine annealing from the group's rate to `minFactor` times it (default 0) over the whole
   * training, per step (PyTorch's `CosineAnnealingLR` with `T_max` = all steps; DMAD).
   */
  | { kind: "cosine"; minFactor?: number };

/** The optimiser of a group without its learning rate (which is the group's). */
export type GroupOptimizer = Omit<OptimizerSpec, "learningRate">;

/**
 * A group of variables with its own optimiser: kind (Adam, AdamW, SGD with momentum), betas,
 * weight decay, learning rate and schedule, and gradient clipping.
 */
export interface ParameterGroup {
  name: string;
  variables: tf.Variable[];
  learningRate: number;
  /**
   * The optimiser; default Adam with betas (0.5, 0.999) and epsilon 1e-8 (RD's and CCL's
   * setting; PyTorch's epsilon).
   */
  optimizer?: GroupOptimizer;
  /** Default constant. */
  schedule?: LearningRateSchedule;
  /** Clips this group's gradient norm (after any global clip); default none. */
  clipNorm?: number;
}

/**
 * A stretch of training in which only some parameter groups are updated (DeSTSeg trains the
 * student first, then the segmentation head). Groups named by no phase (e.g. CCL's projector)
 * are updated in every phase.
 */
export interface TrainingPhase {
  name: string;
  /** Parameter groups updated in this phase. */
  groups: string[];
  /** Share of the total steps (the shares of all phases add up to 1). */
  fraction: number;
}

/**
 * The interface every anomaly-detection method (RD, DeSTSeg, DRAEM, DMAD) implements, and the
 * one the CCL wrapper and the experiment runner use. A method describes its optimisation
 * (`parameterGroups`, `phases`); the trainer builds and owns the optimisers.
 */
export interface AnomalyMethod {
  readonly name: string;
  /** The normalisation `forward`, `predict` and `compactFeatures` expect their images in. */
  readonly inputNormalization: InputNormalization;
  /** Names of the terms in `ForwardOutput.components` (empty for a single-term loss). */
  readonly lossComponents: readonly string[];
  /** Channels of each `dense` scale returned by `forward` (what CCL's projector must match). */
  readonly frozenChannels: readonly number[];
  /** True if `forward` honours `options.adaptFeatures`. */
  readonly acceptsFeatureAdapter: boolean;
  /** Trainable variables, grouped by optimiser settings. */
  parameterGroups(): ParameterGroup[];
  /** The training phases, in order; absent: one phase, `"train"`, updating every group. */
  phases?(): TrainingPhase[];
  /**
   * Makes the batch's synthetic part from the clean images (in [0, 1]), drawing every random
   * number from `rng` (seeded per step by the runner, so a resumed run draws the same).
   */
  prepareBatch?(batch: RawBatch, rng: () => number): SyntheticArrays;
  /** Called before every training step (e.g. to switch batch-norm modes between phases). */
  beginStep?(context: StepContext): void;
  /** Training-mode forward pass; call inside `tf.variableGrads` / `optimizer.minimize`. */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput;
  /** Inference: anomaly maps and scores for NHWC images. */
  predict(images: tf.Tensor4D, options?: PredictOptions): Prediction;
  /**
   * Inference-mode compact feature per image, [B, D] (what `forward` returns as `compact`):
   * the feature whose clustering by class measures inter-class confusion.
   */
  compactFeatures(images: tf.Tensor4D, options?: PredictOptions): tf.Tensor2D;
  /**
   * Optional, for the confusion analysis (`lib/analysis`): the features the method reconstructs
   * (`target`, e.g. RD's frozen encoder maps) and its inference-mode reconstruction of them.
   * Methods that do not reconstruct features leave it out; the analysis then says so.
   */
  reconstructedFeatures?(images: tf.Tensor4D, options?: PredictOptions): ReconstructedFeatures;
  /** All variables by stable name, for checkpoints (trainable ones at least). */
  namedVariables(): Map<string, tf.Variable>;
  dispose(): void;
}

/**
 * What the trainer minimises: a method alone, or a method wrapped by CCL. The trainer keeps one
 * optimiser per parameter group (as the group describes it), differentiates
 * `losses(batch).total` with respect to the groups of the current phase, clips and applies the
 * update. Loss keys are the same for every method: `total`, `method` (the method's loss),
 * `method.<component>` for each of its components, and CCL's `global` and `local`.
 */
export interface Objective {
  readonly name: string;
  /** Whether batches must carry `augmented`. */
  readonly needsAugmentedView: boolean;
  /** All trainable variables, grouped by optimiser settings. */
  parameterGroups(): ParameterGroup[];
  /** The method's training phases (see {@linkcode AnomalyMethod.phases}). */
  phases?(): TrainingPhase[];
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
