/**
 * DeSTSeg (Zhang et al., CVPR 2023) as an {@linkcode AnomalyMethod}: a frozen pretrained
 * teacher (the backbone, stages 1-3), a denoising student that sees images with synthetic
 * anomalies and must output the teacher's features of the clean image (cosine loss), and a
 * segmentation head on the products of the L2-normalised teacher and student features that
 * predicts the anomaly mask (focal + L1). Two stages, as the original: the student first (SGD,
 * lr 0.4), then the head (SGD, lr 0.1 for its residual layer, 0.01 for its ASPP head) with the
 * student frozen in eval mode. Image score: the mean of the top T values of the map.
 *
 * Choices where the original does not fit this framework: the cosine loss keeps the original's
 * sum over the batch (divided by the map area); ASPP dilation rates and T are scaled from 256²
 * to the input size; ASPP has no dropout.
 *
 * With CCL (no projector: the student starts from the image, not from frozen features), local
 * CL refines the student's three decoder outputs (the multi-scale features that reconstruct
 * the teacher), pixels matched across views on the teacher's features, and global CL clusters
 * the pooled deepest student encoder map. Both terms train the student; in the head's stage
 * the student is frozen, so they then change nothing (they are still computed and logged).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import type { Backbone } from "../../backbones/types.ts";
import { applyFrozen } from "../components/frozen.ts";
import { topKMeanScores } from "../components/scores.ts";
import { VariableStore } from "../layers.ts";
import { type SynthesisResources, synthesizeAnomalies } from "../synthetic/synthesize.ts";
import type {
  AnomalyMethod,
  ForwardOptions,
  ForwardOutput,
  ParameterGroup,
  Prediction,
  RawBatch,
  ReconstructedFeatures,
  StepContext,
  SyntheticArrays,
  TrainBatch,
  TrainingPhase,
} from "../types.ts";
import { type DeSTSegConfig, resolveDeSTSegConfig } from "./config.ts";
import {
  applySegmentationHead,
  applyStudent,
  createSegmentationHead,
  createStudent,
  resizeTo,
  type SegmentationHead,
  type Student,
} from "./model.ts";

/** Name of the first training phase (student) and the second (segmentation head). */
export const STUDENT_PHASE = "student";
export const SEGMENTATION_PHASE = "segmentation";

/**
 * x / sqrt(|x|² + 1e-12) over channels. The original divides by |x| + 1e-12, whose gradient is
 * NaN at an all-zero pixel (sqrt at 0), which narrow ReLU features here do produce.
 */
const l2Normalize = (x: tf.Tensor4D) =>
  tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), 3, true), 1e-12))) as tf.Tensor4D;

/**
 * DeSTSeg's focal loss on probabilities (binary cross-entropy with logs clamped at -100 as
 * PyTorch's, times (1 - p_t)^gamma), mean over pixels.
 */
export function binaryFocalLoss(p: tf.Tensor, target: tf.Tensor, gamma: number): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.maximum(tf.log(p), -100);
    const log1mP = tf.maximum(tf.log(tf.sub(1, p)), -100);
    const ce = tf.neg(tf.add(tf.mul(target, logP), tf.mul(tf.sub(1, target), log1mP)));
    const pt = tf.add(tf.mul(p, target), tf.mul(tf.sub(1, p), tf.sub(1, target)));
    return tf.mean(tf.mul(ce, tf.pow(tf.sub(1, pt), gamma))) as tf.Scalar;
  });
}

/**
 * DeSTSeg's cosine loss: per scale, the sum over the batch and pixels of 1 - cosine between the
 * normalised teacher and student features, divided by the map's area; summed over scales.
 */
export function destsegCosineLoss(teacher: tf.Tensor4D[], student: tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() =>
    addN(teacher.map((t, s) => {
      const distance = tf.sub(1, tf.sum(tf.mul(l2Normalize(t), l2Normalize(student[s])), 3));
      return tf.div(tf.sum(distance), t.shape[1] * t.shape[2]);
    })) as tf.Scalar
  );
}

/**
 * DeSTSeg over a frozen teacher. Variables: `destseg.student.*`, `destseg.seg.res.*`,
 * `destseg.seg.head.*`.
 *
 * @example
 * ```ts ignore
 * import { DeSTSeg } from "./destseg.ts";
 * const destseg = new DeSTSeg(backbone, {}, 0);
 * ```
 */
export class DeSTSeg implements AnomalyMethod {
  readonly name = "destseg";
  readonly inputNormalization = "imagenet" as const;
  readonly lossComponents: readonly string[] = ["cosine", "focal", "l1"];
  readonly acceptsFeatureAdapter = false;
  readonly frozenChannels: readonly number[];
  readonly config: Readonly<DeSTSegConfig>;
  readonly #teacher: Backbone;
  readonly #store: VariableStore;
  readonly #student: Student;
  readonly #head: SegmentationHead;
  readonly #resources: SynthesisResources;
  #phase = STUDENT_PHASE;

  /** `resources.textures`: the foreign textures to paste (default procedural ones). */
  constructor(
    backbone: Backbone,
    config: Record<string, unknown> = {},
    seed = 0,
    resources: SynthesisResources = {},
  ) {
    if (backbone.channels.length !== 3 || backbone.strides.join() !== "4,8,16") {
      throw new Error(
        `lib/methods/destseg/destseg.ts: DeSTSeg needs a backbone with 3 stages at strides ` +
          `[4, 8, 16], "${backbone.name}" has [${backbone.strides}]`,
      );
    }
    this.#teacher = backbone;
    this.#resources = { ...resources };
    this.frozenChannels = [...backbone.channels];
    this.config = resolveDeSTSegConfig(backbone.name, config);
    this.#store = new VariableStore("destseg", seed);
    this.#student = createStudent(this.#store, this.frozenChannels, this.config);
    this.#head = createSegmentationHead(
      this.#store,
      this.frozenChannels.reduce((a, b) => a + b, 0),
      this.config,
    );
  }

  /** Three SGD groups (momentum 0.9, weight decay 1e-4): student, head `res`, head ASPP. */
  parameterGroups(): ParameterGroup[] {
    const named = [...this.#store.named()].filter(([, v]) => v.trainable);
    const pick = (prefix: string) =>
      named.filter(([name]) => name.startsWith(`destseg.${prefix}`)).map(([, v]) => v);
    const optimizer = {
      kind: "sgd" as const,
      momentum: this.config.momentum,
      weightDecay: this.config.weightDecay,
    };
    return [
      {
        name: "student",
        variables: pick("student."),
        learningRate: this.config.learningRate,
        optimizer,
      },
      {
        name: "seg.res",
        variables: pick("seg.res."),
        learningRate: this.config.learningRateRes,
        optimizer,
      },
      {
        name: "seg.head",
        variables: pick("seg.head."),
        learningRate: this.config.learningRateHead,
        optimizer,
      },
    ];
  }

  /** The student first, then the segmentation head (the original's 1000 of 5000 steps). */
  phases(): TrainingPhase[] {
    return [
      { name: STUDENT_PHASE, groups: ["student"], fraction: this.config.studentShare },
      {
        name: SEGMENTATION_PHASE,
        groups: ["seg.res", "seg.head"],
        fraction: 1 - this.config.studentShare,
      },
    ];
  }

  beginStep(context: StepContext): void {
    if (context.phase !== STUDENT_PHASE && context.phase !== SEGMENTATION_PHASE) {
      throw new Error(`lib/methods/destseg/destseg.ts: unknown phase "${context.phase}"`);
    }
    this.#phase = context.phase;
  }

  /** Perlin-mask anomalies with foreign textures on every image (the original's setting). */
  prepareBatch(batch: RawBatch, rng: () => number): SyntheticArrays {
    return synthesizeAnomalies(
      batch,
      { probability: this.config.anomalyProbability, textures: this.#resources.textures },
      rng,
    );
  }

  #teacherFeatures(images: tf.Tensor4D): tf.Tensor4D[] {
    return applyFrozen((x) => this.#teacher.apply(x), images);
  }

  /** The head's probabilities [B, h, w, 1] at stride 4 from teacher and student features. */
  #segment(teacher: tf.Tensor4D[], student: tf.Tensor4D[], size: number, training: boolean) {
    const [, h, w] = teacher[0].shape;
    const products = teacher.map((t, s) =>
      resizeTo(tf.neg(tf.mul(l2Normalize(t), l2Normalize(student[s]))) as tf.Tensor4D, h, w)
    );
    return applySegmentationHead(
      this.#head,
      tf.concat(products, 3),
      this.config.asppRates,
      size / 256,
      training,
    );
  }

  /**
   * Training forward. With `computeLoss`, the student (training mode in the student phase,
   * eval mode after) and the head (training mode in its phase) run on `batch.synthetic.images`;
   * the loss is the cosine loss against the teacher's features of the clean images in the
   * student phase, focal + L1 against the masks in the head's phase. Without it (CCL's second
   * view) only the student runs, on `batch.images`.
   */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput {
    const studentTraining = this.#phase === STUDENT_PHASE;
    if (!options.computeLoss) {
      const teacher = this.#teacherFeatures(batch.images);
      const { features, deepest } = applyStudent(this.#student, batch.images, studentTraining);
      const compact = tf.mean(deepest, [1, 2]) as tf.Tensor2D;
      deepest.dispose();
      return { dense: features, matching: teacher, compact };
    }
    const synthetic = batch.synthetic;
    if (!synthetic) {
      throw new Error(
        "lib/methods/destseg/destseg.ts: DeSTSeg's loss needs batch.synthetic (made by its prepareBatch)",
      );
    }
    const teacherAug = this.#teacherFeatures(synthetic.images);
    const teacherClean = this.#teacherFeatures(batch.images);
    const { features, deepest } = applyStudent(this.#student, synthetic.images, studentTraining);
    const size = batch.images.shape[1];
    const probabilities = this.#segment(teacherAug, features, size, !studentTraining);
    const [, h, w] = probabilities.shape;
    const target = tf.tidy(() =>
      tf.cast(tf.greaterEqual(resizeTo(synthetic.masks, h, w), 0.5), "float32")
    );
    const cosine = destsegCosineLoss(teacherClean, features);
    const focal = binaryFocalLoss(probabilities, target, this.config.focalGamma);
    const l1 = tf.mean(tf.abs(tf.sub(probabilities, target))) as tf.Scalar;
    const loss = studentTraining ? cosine : tf.add(focal, l1) as tf.Scalar;
    const compact = tf.mean(deepest, [1, 2]) as tf.Tensor2D;
    tf.dispose([deepest, target, probabilities, ...teacherClean]);
    return {
      loss,
      components: { cosine, focal, l1 },
      dense: features,
      matching: teacherAug,
      compact,
    };
  }

  /** The head's map upsampled to the input size and the mean of its top T values. */
  predict(images: tf.Tensor4D): Prediction {
    return tf.tidy(() => {
      const [, height, width] = images.shape;
      const teacher = this.#teacherFeatures(images);
      const { features } = applyStudent(this.#student, images, false);
      const probabilities = this.#segment(teacher, features, height, false);
      const maps = tf.squeeze(resizeTo(probabilities, height, width), [3]) as tf.Tensor3D;
      const k = this.config.topK || Math.max(1, Math.round((100 * height * width) / (256 * 256)));
      return { maps, scores: topKMeanScores(maps, k) };
    });
  }

  /** The pooled deepest student encoder map in eval mode, [B, 2·c3]. */
  compactFeatures(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const { deepest } = applyStudent(this.#student, images, false);
      return tf.mean(deepest, [1, 2]) as tf.Tensor2D;
    });
  }

  /** The teacher's maps and the student's (eval mode) reconstruction of them. */
  reconstructedFeatures(images: tf.Tensor4D): ReconstructedFeatures {
    return tf.tidy(() => {
      const target = this.#teacher.apply(images);
      const { features } = applyStudent(this.#student, images, false);
      return { target, reconstruction: features };
    });
  }

  namedVariables(): Map<string, tf.Variable> {
    return this.#store.named();
  }

  dispose(): void {
    this.#store.dispose();
  }
}

/** Creates DeSTSeg over `backbone` (see {@linkcode DeSTSeg}). */
export function createDeSTSeg(
  backbone: Backbone,
  config: Record<string, unknown> = {},
  seed = 0,
  resources: SynthesisResources = {},
): DeSTSeg {
  return new DeSTSeg(backbone, config, seed, resources);
}
