/**
 * DMAD (Liu et al., CVPR 2023) in its feature-reconstruction form as an
 * {@linkcode AnomalyMethod}: RD's frozen encoder, one-class bottleneck and decoder, a memory
 * bank between bottleneck and decoder, and a pyramid deformation module warping the decoder's
 * reconstruction toward the encoder features. See `mod.ts` for what follows the paper and
 * what is our choice.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Backbone } from "../../backbones/types.ts";
import { applyFrozen } from "../components/frozen.ts";
import { maxScores } from "../components/scores.ts";
import { VariableStore } from "../layers.ts";
import { rdLoss } from "../rd/loss.ts";
import {
  applyDecoder,
  applyOCBE,
  assertRDFeatures,
  createDecoder,
  createOCBE,
  type OCBE,
  type RDDecoder,
} from "../rd/model.ts";
import type {
  AnomalyMethod,
  ForwardOptions,
  ForwardOutput,
  ParameterGroup,
  Prediction,
  PredictOptions,
  ReconstructedFeatures,
  TrainBatch,
} from "../types.ts";
import { dmadAnomalyMap } from "./anomaly_map.ts";
import { type DMADConfig, resolveDMADConfig } from "./config.ts";
import {
  applyPyramidDeformation,
  createPyramidDeformation,
  deformationMagnitude,
  deformationSmoothness,
  type PyramidDeformation,
} from "./deformation.ts";
import { createMemory, type Memory, readMemory } from "./memory.ts";

/** Everything one DMAD pass computes (the caller disposes it). */
export interface DMADPass {
  /** Frozen encoder maps [c1 @ H/4, c2 @ H/8, c3 @ H/16] (the reconstruction targets). */
  encoder: tf.Tensor4D[];
  /** The decoder's reconstruction from the memory read-out, before deformation. */
  decoder: tf.Tensor4D[];
  /** The reconstruction warped by the pyramid deformation module. */
  warped: tf.Tensor4D[];
  /** Deformation fields [B, h_s, w_s, 2] per scale. */
  offsets: tf.Tensor4D[];
  /** The bottleneck embedding before the memory [B, H/32, W/32, 2·c3]. */
  embedding: tf.Tensor4D;
  /** Mean entropy of the memory attention. */
  entropy: tf.Scalar;
}

/** The loss terms' names, in the order of `lossComponents`. */
export const DMAD_LOSS_COMPONENTS = ["reconstruction", "deformation", "entropy"] as const;

/**
 * DMAD over a frozen backbone; does not own the backbone. Variables: `dmad.bn.*` and
 * `dmad.decoder.*` (RD's modules and names), `dmad.memory.prototypes`, `dmad.pdm.<s>.*`.
 *
 * @example
 * ```ts ignore
 * import { DMAD } from "./dmad.ts";
 * import type { Backbone } from "../../backbones/types.ts";
 * declare const backbone: Backbone;
 * const dmad = new DMAD(backbone, { memorySize: 20 }, 0);
 * ```
 */
export class DMAD implements AnomalyMethod {
  readonly name = "dmad";
  readonly inputNormalization = "imagenet" as const;
  readonly lossComponents: readonly string[] = DMAD_LOSS_COMPONENTS;
  readonly acceptsFeatureAdapter = true;
  readonly frozenChannels: readonly number[];
  readonly config: Readonly<DMADConfig>;
  readonly #backbone: Backbone;
  readonly #store: VariableStore;
  readonly #ocbe: OCBE;
  readonly #memory: Memory;
  readonly #decoder: RDDecoder;
  readonly #pdm: PyramidDeformation;

  constructor(
    backbone: Backbone,
    config: Partial<DMADConfig> | Record<string, unknown> = {},
    seed = 0,
  ) {
    const strides = backbone.strides;
    if (
      backbone.channels.length !== 3 || strides.length !== 3 || strides[1] !== 2 * strides[0] ||
      strides[2] !== 2 * strides[1]
    ) {
      throw new Error(
        `lib/methods/dmad/dmad.ts: DMAD needs a backbone with 3 stages at doubling strides ` +
          `(e.g. [4, 8, 16]), "${backbone.name}" has channels [${backbone.channels}] and ` +
          `strides [${strides}]`,
      );
    }
    this.#backbone = backbone;
    this.frozenChannels = [...backbone.channels];
    this.config = resolveDMADConfig(backbone.name, config);
    this.#store = new VariableStore("dmad", seed);
    this.#ocbe = createOCBE(this.#store, this.frozenChannels, this.config);
    this.#memory = createMemory(
      this.#store,
      "memory",
      this.config.memorySize,
      this.#ocbe.embeddingChannels,
      this.config.memoryTemperature,
    );
    this.#decoder = createDecoder(this.#store, this.frozenChannels, this.config);
    this.#pdm = createPyramidDeformation(
      this.#store,
      "pdm",
      this.frozenChannels,
      this.config.offsetHiddenChannels,
      this.config.maxOffset,
    );
  }

  /** The single group "dmad": bottleneck, memory, decoder and PDM at `config.learningRate`. */
  parameterGroups(): ParameterGroup[] {
    return [{
      name: "dmad",
      variables: this.#store.trainableVariables(),
      learningRate: this.config.learningRate,
    }];
  }

  /**
   * Training forward (batch norm in training mode). The bottleneck sees the adapted features;
   * the decoder and the PDM reconstruct the raw frozen ones.
   */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput {
    const frozen = applyFrozen((images) => this.#backbone.apply(images), batch.images);
    assertRDFeatures(frozen, this.frozenChannels, `backbone "${this.#backbone.name}" output`);
    const dense = this.#adapt(frozen, options.adaptFeatures);
    const embedding = applyOCBE(this.#ocbe, dense, true);
    const compact = tf.tidy(() => tf.mean(embedding, [1, 2]) as tf.Tensor2D);
    if (!options.computeLoss) {
      embedding.dispose();
      return { dense, matching: frozen, compact };
    }
    const pass = this.#afterBottleneck(frozen, embedding, true);
    const components = tf.tidy(() => ({
      reconstruction: rdLoss(frozen, pass.warped),
      deformation: tf.add(
        tf.mul(deformationSmoothness(pass.offsets), this.config.smoothnessWeight),
        tf.mul(deformationMagnitude(pass.offsets), this.config.magnitudeWeight),
      ) as tf.Scalar,
      entropy: tf.mul(pass.entropy, this.config.entropyWeight) as tf.Scalar,
    }));
    const loss = tf.addN(Object.values(components)) as tf.Scalar;
    tf.dispose([pass.decoder, pass.warped, pass.offsets, pass.entropy, embedding]);
    return { loss, components, dense, matching: frozen, compact };
  }

  /** Eval-mode pass over `images` (the caller disposes the result). */
  reconstruct(images: tf.Tensor4D, options: PredictOptions = {}): DMADPass {
    return tf.tidy(() => {
      const encoder = this.#backbone.apply(images);
      assertRDFeatures(encoder, this.frozenChannels, `backbone "${this.#backbone.name}" output`);
      const embedding = applyOCBE(this.#ocbe, this.#adapt(encoder, options.adaptFeatures), false);
      return { encoder, embedding, ...this.#afterBottleneck(encoder, embedding, false) };
    });
  }

  /** Frozen encoder maps and their warped eval-mode reconstruction (for the analysis). */
  reconstructedFeatures(images: tf.Tensor4D, options: PredictOptions = {}): ReconstructedFeatures {
    const pass = this.reconstruct(images, options);
    tf.dispose([pass.decoder, pass.offsets, pass.embedding, pass.entropy]);
    return { target: pass.encoder, reconstruction: pass.warped };
  }

  /** Eval-mode pooled bottleneck embedding [B, 2·c3] (before the memory; global CL's feature). */
  compactFeatures(images: tf.Tensor4D, options: PredictOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const encoder = this.#backbone.apply(images);
      const embedding = applyOCBE(this.#ocbe, this.#adapt(encoder, options.adaptFeatures), false);
      return tf.mean(embedding, [1, 2]) as tf.Tensor2D;
    });
  }

  /** Anomaly maps [B, H, W] (residual after warping + deformation magnitude), max scores [B]. */
  predict(images: tf.Tensor4D, options: PredictOptions = {}): Prediction {
    return tf.tidy(() => {
      const pass = this.reconstruct(images, options);
      const maps = dmadAnomalyMap(
        pass.encoder,
        pass.warped,
        pass.offsets,
        [images.shape[1], images.shape[2]],
        {
          deformationWeight: this.config.deformationScoreWeight,
          maxOffset: this.config.maxOffset,
          reduction: this.config.mapReduction,
          sigma: this.config.blurSigma,
          padding: this.config.blurPadding,
        },
      );
      return { maps, scores: maxScores(maps) };
    });
  }

  /** Every variable (trainable and batch-norm running statistics) by stable name. */
  namedVariables(): Map<string, tf.Variable> {
    return this.#store.named();
  }

  /** Frees DMAD's variables (not the backbone). */
  dispose(): void {
    this.#store.dispose();
  }

  #afterBottleneck(
    targets: tf.Tensor4D[],
    embedding: tf.Tensor4D,
    training: boolean,
  ): Omit<DMADPass, "encoder" | "embedding"> {
    return tf.tidy(() => {
      const { readout, entropy } = readMemory(this.#memory, embedding);
      const decoder = applyDecoder(this.#decoder, readout, training);
      const { warped, offsets } = applyPyramidDeformation(this.#pdm, targets, decoder);
      return { decoder, warped, offsets, entropy };
    });
  }

  #adapt(
    frozen: tf.Tensor4D[],
    adaptFeatures: ((frozen: tf.Tensor4D[]) => tf.Tensor4D[]) | undefined,
  ): tf.Tensor4D[] {
    if (!adaptFeatures) return frozen;
    const adapted = adaptFeatures(frozen);
    assertRDFeatures(adapted, this.frozenChannels, "adaptFeatures output");
    return adapted;
  }
}

/** Creates DMAD over `backbone` (see {@linkcode DMAD}). */
export function createDMAD(
  backbone: Backbone,
  config: Partial<DMADConfig> | Record<string, unknown> = {},
  seed = 0,
): DMAD {
  return new DMAD(backbone, config, seed);
}
