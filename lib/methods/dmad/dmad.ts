/**
 * DMAD (Liu et al., CVPR 2023) in its feature-reconstruction form as an
 * {@linkcode AnomalyMethod}, as the official code builds it: a pyramid pre-deformation module
 * warps the input image, RD's frozen encoder encodes the deformed image, a bottleneck with a
 * vector-quantised memory and RD's decoder reconstruct the encoder maps. See `mod.ts` for what
 * follows the official code and what is our choice.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../../backend/add_n.ts";
import type { Backbone } from "../../backbones/types.ts";
import { VariableStore } from "../layers.ts";
import { rdAnomalyMap } from "../rd/anomaly_map.ts";
import { rdLoss } from "../rd/loss.ts";
import { applyDecoder, assertRDFeatures, createDecoder, type RDDecoder } from "../rd/model.ts";
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
import { dmadPrediction } from "./anomaly_map.ts";
import { applyDMADBottleneck, createDMADBottleneck, type DMADBottleneck } from "./bottleneck.ts";
import { type DMADConfig, resolveDMADConfig } from "./config.ts";
import {
  createPreDeformation,
  type DeformationFields,
  deformationLoss,
  deformBack,
  deformForward,
  diversityMap,
  type PreDeformation,
  predictFields,
} from "./deformation.ts";

/** Everything one eval-mode DMAD pass computes (the caller disposes it). */
export type DMADPass = {
  /** The input deformed by the coarse, then the fine field: what the encoder sees. */
  deformed: tf.Tensor4D;
  /** The four fields [B, H, W, 2] (dy, dx), normalised grid units. */
  fields: DeformationFields;
  /** Frozen encoder maps of the deformed image [c1 @ H/4, c2 @ H/8, c3 @ H/16] (targets). */
  encoder: tf.Tensor4D[];
  /** The decoder's reconstruction of them. */
  decoder: tf.Tensor4D[];
  /** The bottleneck embedding [B, H/32, W/32, 2·c3]. */
  embedding: tf.Tensor4D;
};

/** The loss terms' names, in the order of `lossComponents`. */
export const DMAD_LOSS_COMPONENTS = [
  "reconstruction",
  "magnitude",
  "smoothness",
  "inverse",
  "vq",
] as const;

/**
 * DMAD over a frozen backbone; does not own the backbone. Variables: `dmad.offset.*` (the
 * pre-deformation network), `dmad.bn.*` (bottleneck with `bn.vq3.codebook`), `dmad.decoder.*`
 * (RD's decoder and names). The frozen encoder runs on the gradient tape (its weights are not
 * trained, but the gradient must reach the offsets through it), which costs memory: about
 * what one more trainable WRN-50 forward keeps.
 *
 * @example
 * ```ts ignore
 * import { DMAD } from "./dmad.ts";
 * import type { Backbone } from "../../backbones/types.ts";
 * declare const backbone: Backbone;
 * const dmad = new DMAD(backbone, { codebookSize: 50 }, 0);
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
  readonly #offset: PreDeformation;
  readonly #bottleneck: DMADBottleneck;
  readonly #decoder: RDDecoder;

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
    const reduced = this.config.reducedChannels ||
      Math.max(1, Math.floor(backbone.channels[0] / 4));
    this.#store = new VariableStore("dmad", seed);
    this.#offset = createPreDeformation(this.#store, "offset", {
      channels: this.config.offsetChannels,
      coarseBound: this.config.coarseOffset,
      fineBound: this.config.fineOffset,
      cellSize: this.config.coordCellSize,
      bn: { momentum: this.config.bnMomentum, epsilon: this.config.bnEpsilon },
    });
    this.#bottleneck = createDMADBottleneck(this.#store, this.frozenChannels, this.config, {
      reduced,
      codebookSize: this.config.codebookSize,
      beta: this.config.commitmentWeight,
    });
    this.#decoder = createDecoder(this.#store, this.frozenChannels, this.config);
  }

  /**
   * The single group "dmad" (offset network, bottleneck with its codebook, decoder): AdamW,
   * betas (0.5, 0.999), weight decay `config.weightDecay`, at `config.learningRate` annealed
   * to 0 on a cosine over the whole training (the official `CosineAnnealingLR`, per step here).
   */
  parameterGroups(): ParameterGroup[] {
    return [{
      name: "dmad",
      variables: this.#store.trainableVariables(),
      learningRate: this.config.learningRate,
      optimizer: { kind: "adamw", beta1: 0.5, beta2: 0.999, weightDecay: this.config.weightDecay },
      schedule: { kind: "cosine" },
    }];
  }

  /**
   * Training forward (batch norm in training mode): deform the image, encode it (on the tape),
   * adapt the features (CCL), bottleneck, decode. The decoder reconstructs the raw encoder maps
   * of the deformed image.
   */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput {
    return tf.tidy(() => {
      const images = batch.images;
      const fields = predictFields(this.#offset, images, true);
      const deformed = deformForward(this.#offset, images, fields);
      const frozen = this.#encode(deformed);
      const dense = this.#adapt(frozen, options.adaptFeatures);
      const { embedding, vqLoss } = applyDMADBottleneck(this.#bottleneck, dense, true);
      const compact = tf.mean(embedding, [1, 2]) as tf.Tensor2D;
      if (!options.computeLoss) return { dense, matching: frozen, compact };
      const decoder = applyDecoder(this.#decoder, embedding, true);
      const deformation = deformationLoss(
        this.#offset,
        images,
        deformed,
        fields,
        this.config.inverseWeight,
      );
      const components: Record<string, tf.Scalar> = {
        reconstruction: rdLoss(frozen, decoder),
        magnitude: deformation.magnitude,
        smoothness: deformation.smoothness,
        inverse: deformation.inverse,
        vq: vqLoss,
      };
      const loss = addN(Object.values(components)) as tf.Scalar;
      return { loss, components, dense, matching: frozen, compact };
    });
  }

  /** Eval-mode pass over `images` (the caller disposes the result). */
  reconstruct(images: tf.Tensor4D, options: PredictOptions = {}): DMADPass {
    return tf.tidy(() => {
      const fields = predictFields(this.#offset, images, false);
      const deformed = deformForward(this.#offset, images, fields);
      const encoder = this.#encode(deformed);
      const { embedding } = applyDMADBottleneck(
        this.#bottleneck,
        this.#adapt(encoder, options.adaptFeatures),
        false,
      );
      const decoder = applyDecoder(this.#decoder, embedding, false);
      return { deformed, fields, encoder, decoder, embedding };
    });
  }

  /** Encoder maps of the deformed image and their eval-mode reconstruction (for the analysis). */
  reconstructedFeatures(images: tf.Tensor4D, options: PredictOptions = {}): ReconstructedFeatures {
    const pass = this.reconstruct(images, options);
    tf.dispose([pass.deformed, pass.embedding, ...Object.values(pass.fields)]);
    return { target: pass.encoder, reconstruction: pass.decoder };
  }

  /** Eval-mode pooled bottleneck embedding [B, 2·c3] (global CL's feature). */
  compactFeatures(images: tf.Tensor4D, options: PredictOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const fields = predictFields(this.#offset, images, false);
      const encoder = this.#encode(deformForward(this.#offset, images, fields));
      const { embedding } = applyDMADBottleneck(
        this.#bottleneck,
        this.#adapt(encoder, options.adaptFeatures),
        false,
      );
      return tf.mean(embedding, [1, 2]) as tf.Tensor2D;
    });
  }

  /**
   * Anomaly maps [B, H, W] and scores [B]: the residual carried back to the input's frame by
   * the inverse fields, plus the weighted diversity (see `anomaly_map.ts`).
   */
  predict(images: tf.Tensor4D, options: PredictOptions = {}): Prediction {
    return tf.tidy(() => {
      const pass = this.reconstruct(images, options);
      const size: [number, number] = [images.shape[1], images.shape[2]];
      const residual = rdAnomalyMap(pass.encoder, pass.decoder, size, {
        reduction: this.config.mapReduction,
        sigma: 0,
      });
      const back = tf.squeeze(
        deformBack(this.#offset, tf.expandDims(residual, 3) as tf.Tensor4D, pass.fields),
        [3],
      ) as tf.Tensor3D;
      const { maps, scores } = dmadPrediction(back, diversityMap(this.#offset, pass.fields), {
        deformationWeight: this.config.deformationScoreWeight,
        bound: this.config.coarseOffset + this.config.fineOffset,
        sigma: this.config.blurSigma,
        padding: this.config.blurPadding,
      });
      return { maps, scores };
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

  #encode(images: tf.Tensor4D): tf.Tensor4D[] {
    const features = this.#backbone.apply(images);
    assertRDFeatures(features, this.frozenChannels, `backbone "${this.#backbone.name}" output`);
    return features;
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
