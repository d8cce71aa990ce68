/**
 * DRAEM (Zavrtanik et al., ICCV 2021) as an {@linkcode AnomalyMethod}: a reconstructive
 * autoencoder learns to restore images with synthetic anomalies (L2 + SSIM), and a
 * discriminative U-Net on [reconstruction, input] learns to segment the anomalies (focal
 * loss). DRAEM uses no pretrained backbone and works on [0, 1] images.
 *
 * With CCL (no projector: nothing of DRAEM starts from frozen features), local CL acts on the
 * reconstructive encoder's blocks 2-4 (strides 2, 4, 8: the multi-scale features that decide
 * what the image is restored to) and global CL on its pooled bottleneck (block 5). Pixels are
 * matched across views on the same features without gradient.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import { detach } from "../components/frozen.ts";
import { meanFilterMaxScores } from "../components/scores.ts";
import { VariableStore } from "../layers.ts";
import { type SynthesisResources, synthesizeAnomalies } from "../synthetic/synthesize.ts";
import type {
  AnomalyMethod,
  ForwardOptions,
  ForwardOutput,
  ParameterGroup,
  Prediction,
  RawBatch,
  SyntheticArrays,
  TrainBatch,
} from "../types.ts";
import { type DRAEMConfig, resolveDRAEMConfig } from "./config.ts";
import { focalLoss, ssim } from "./loss.ts";
import {
  applyDiscriminative,
  applyReconstructive,
  createDiscriminative,
  createReconstructive,
  type Discriminative,
  type Reconstructive,
} from "./model.ts";

/** The encoder blocks (0-based) whose outputs CCL's local term refines. */
const DENSE_BLOCKS = [1, 2, 3];

/** The side of DRAEM's score filter for an input of `size` pixels (21 at 256). */
export function scaledFilterSize(size: number): number {
  const side = Math.max(1, Math.round((21 * size) / 256));
  return side % 2 === 1 ? side : side + 1;
}

/**
 * DRAEM. Variables are named `draem.rec.*` (reconstructive) and `draem.seg.*` (discriminative).
 *
 * @example
 * ```ts ignore
 * import { DRAEM } from "./draem.ts";
 * const draem = new DRAEM({ reconstructiveWidth: 8 }, 0);
 * ```
 */
export class DRAEM implements AnomalyMethod {
  readonly name = "draem";
  readonly inputNormalization = "unit" as const;
  readonly lossComponents: readonly string[] = ["l2", "ssim", "focal"];
  readonly acceptsFeatureAdapter = false;
  readonly frozenChannels: readonly number[];
  readonly config: Readonly<DRAEMConfig>;
  readonly #store: VariableStore;
  readonly #reconstructive: Reconstructive;
  readonly #discriminative: Discriminative;
  readonly #resources: SynthesisResources;

  /** `resources.textures`: the foreign textures to paste (default procedural ones). */
  constructor(config: Record<string, unknown> = {}, seed = 0, resources: SynthesisResources = {}) {
    this.config = resolveDRAEMConfig(config);
    this.#resources = { ...resources };
    this.#store = new VariableStore("draem", seed);
    this.#reconstructive = createReconstructive(this.#store, this.config);
    this.#discriminative = createDiscriminative(this.#store, this.config);
    const b = this.config.reconstructiveWidth;
    this.frozenChannels = [2 * b, 4 * b, 8 * b];
  }

  /** Both networks in one Adam group, as the original (with its step schedule). */
  parameterGroups(): ParameterGroup[] {
    return [{
      name: "draem",
      variables: this.#store.trainableVariables(),
      learningRate: this.config.learningRate,
      optimizer: {
        kind: "adam",
        beta1: this.config.beta1,
        beta2: this.config.beta2,
        epsilon: 1e-8,
      },
      schedule: { kind: "multistep", milestones: this.config.milestones, gamma: 0.2 },
    }];
  }

  /** Perlin-mask anomalies with foreign textures on half the images (the original's coin). */
  prepareBatch(batch: RawBatch, rng: () => number): SyntheticArrays {
    return synthesizeAnomalies(
      batch,
      { probability: this.config.anomalyProbability, textures: this.#resources.textures },
      rng,
    );
  }

  /**
   * Training forward. With `computeLoss`, the networks run on `batch.synthetic.images` and the
   * loss is L2 + (1 - SSIM) against the clean images plus the focal loss against the masks;
   * without it (CCL's second view) only the reconstructive encoder runs, on `batch.images`.
   */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput {
    if (!options.computeLoss) {
      const { encoder, reconstruction } = applyReconstructive(
        this.#reconstructive,
        batch.images,
        true,
      );
      reconstruction.dispose();
      return this.#features(encoder);
    }
    const synthetic = batch.synthetic;
    if (!synthetic) {
      throw new Error(
        "lib/methods/draem/draem.ts: DRAEM's loss needs batch.synthetic (made by its prepareBatch)",
      );
    }
    const { encoder, reconstruction } = applyReconstructive(
      this.#reconstructive,
      synthetic.images,
      true,
    );
    const logits = applyDiscriminative(
      this.#discriminative,
      tf.concat([reconstruction, synthetic.images], 3),
      true,
    );
    const l2 = tf.mean(tf.squaredDifference(reconstruction, batch.images)) as tf.Scalar;
    const ssimLoss = tf.sub(
      1,
      ssim(reconstruction, batch.images, this.config.ssimWindow),
    ) as tf.Scalar;
    const focal = focalLoss(
      tf.softmax(logits) as tf.Tensor4D,
      synthetic.masks,
      this.config.focalGamma,
    );
    const loss = addN([l2, ssimLoss, focal]) as tf.Scalar;
    return { loss, components: { l2, ssim: ssimLoss, focal }, ...this.#features(encoder) };
  }

  #features(encoder: tf.Tensor4D[]): Omit<ForwardOutput, "loss" | "components"> {
    const dense = DENSE_BLOCKS.map((i) => encoder[i]);
    const matching = dense.map((d) => detach(d));
    const compact = tf.mean(encoder[encoder.length - 1], [1, 2]) as tf.Tensor2D;
    return { dense, matching, compact };
  }

  /** The anomalous-class probability map [B, H, W] and its mean-filtered maximum. */
  predict(images: tf.Tensor4D): Prediction {
    return tf.tidy(() => {
      const { reconstruction } = applyReconstructive(this.#reconstructive, images, false);
      const logits = applyDiscriminative(
        this.#discriminative,
        tf.concat([reconstruction, images], 3),
        false,
      );
      const maps = tf.squeeze(
        tf.slice(tf.softmax(logits), [0, 0, 0, 1], [-1, -1, -1, 1]),
        [3],
      ) as tf.Tensor3D;
      const size = this.config.scoreFilterSize || scaledFilterSize(images.shape[1]);
      return { maps, scores: meanFilterMaxScores(maps, size) };
    });
  }

  /** The pooled bottleneck (encoder block 5) in eval mode, [B, 8·width]. */
  compactFeatures(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const { encoder } = applyReconstructive(this.#reconstructive, images, false);
      return tf.mean(encoder[encoder.length - 1], [1, 2]) as tf.Tensor2D;
    });
  }

  namedVariables(): Map<string, tf.Variable> {
    return this.#store.named();
  }

  dispose(): void {
    this.#store.dispose();
  }
}

/** Creates DRAEM (see {@linkcode DRAEM}); it uses no backbone. */
export function createDRAEM(
  config: Record<string, unknown> = {},
  seed = 0,
  resources: SynthesisResources = {},
): DRAEM {
  return new DRAEM(config, seed, resources);
}
