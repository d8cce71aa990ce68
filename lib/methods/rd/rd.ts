/**
 * Reverse Distillation (Deng & Li, CVPR 2022) as an {@linkcode AnomalyMethod}: a frozen
 * encoder (the backbone), a trainable one-class bottleneck and a decoder that reconstructs the
 * encoder's three feature maps; anomalies are where reconstruction and encoder disagree.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Backbone } from "../../backbones/types.ts";
import { VariableStore } from "../layers.ts";
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
import { maxScores, rdAnomalyMap } from "./anomaly_map.ts";
import { type RDConfig, resolveRDConfig } from "./config.ts";
import { rdLoss } from "./loss.ts";
import {
  applyDecoder,
  applyFrozen,
  applyOCBE,
  assertRDFeatures,
  createDecoder,
  createOCBE,
  type OCBE,
  type RDDecoder,
} from "./model.ts";

/** Encoder features, their reconstruction and the embedding, for analysis. */
export interface RDReconstruction {
  /** Frozen encoder maps [c1 @ H/4, c2 @ H/8, c3 @ H/16]. */
  encoder: tf.Tensor4D[];
  /** The decoder's reconstructions, same shapes. */
  decoder: tf.Tensor4D[];
  /** The bottleneck embedding [B, H/32, W/32, 2·c3]. */
  embedding: tf.Tensor4D;
}

/**
 * RD over a frozen backbone. The method does not own the backbone: `dispose()` frees the
 * bottleneck and decoder only.
 *
 * Variable names (checkpoints) follow the official PyTorch modules with an "rd." prefix:
 * `rd.bn.conv1.weight`, `rd.bn.bn_layer.0.downsample.1.running_mean`,
 * `rd.decoder.layer1.0.upsample.0.weight`, ... (weights in TF layout: conv HWIO,
 * transposed conv [in, 2, 2, out]).
 *
 * @example
 * ```ts ignore
 * import { ReverseDistillation } from "./rd.ts";
 * import type { Backbone } from "../../backbones/types.ts";
 * declare const backbone: Backbone;
 * const rd = new ReverseDistillation(backbone, { decoderBlocks: [1, 1, 1] }, 0);
 * ```
 */
export class ReverseDistillation implements AnomalyMethod {
  readonly name = "rd";
  readonly inputNormalization = "imagenet" as const;
  readonly lossComponents: readonly string[] = [];
  readonly acceptsFeatureAdapter = true;
  readonly frozenChannels: readonly number[];
  readonly config: Readonly<RDConfig>;
  readonly #backbone: Backbone;
  readonly #store: VariableStore;
  readonly #ocbe: OCBE;
  readonly #decoder: RDDecoder;

  /**
   * @param backbone The frozen encoder; must return three maps at strides [4, 8, 16].
   * @param config Overrides of the backbone's RD preset (see `rdPresetFor`).
   * @param seed Seeds every initial weight.
   */
  constructor(
    backbone: Backbone,
    config: Partial<RDConfig> | Record<string, unknown> = {},
    seed = 0,
  ) {
    if (backbone.channels.length !== 3) {
      throw new Error(
        `lib/methods/rd/rd.ts: RD needs a backbone with 3 stages, "${backbone.name}" has ` +
          `${backbone.channels.length} ([${backbone.channels}])`,
      );
    }
    const strides = backbone.strides;
    if (strides.length !== 3 || strides[1] !== 2 * strides[0] || strides[2] !== 2 * strides[1]) {
      throw new Error(
        `lib/methods/rd/rd.ts: RD needs backbone strides doubling per stage (e.g. [4, 8, 16]), ` +
          `"${backbone.name}" has [${strides}]`,
      );
    }
    this.#backbone = backbone;
    this.frozenChannels = [...backbone.channels];
    this.config = resolveRDConfig(backbone.name, config);
    this.#store = new VariableStore("rd", seed);
    this.#ocbe = createOCBE(this.#store, this.frozenChannels, this.config);
    this.#decoder = createDecoder(this.#store, this.frozenChannels, this.config);
  }

  /** The single group "rd": bottleneck + decoder at `config.learningRate`. */
  parameterGroups(): ParameterGroup[] {
    return [{
      name: "rd",
      variables: this.#store.trainableVariables(),
      learningRate: this.config.learningRate,
    }];
  }

  /**
   * Training forward: batch norm in training mode (running statistics update). The bottleneck
   * sees the adapted features; the decoder reconstructs the raw frozen ones.
   */
  forward(batch: TrainBatch, options: ForwardOptions): ForwardOutput {
    const frozen = applyFrozen((images) => this.#backbone.apply(images), batch.images);
    assertRDFeatures(frozen, this.frozenChannels, `backbone "${this.#backbone.name}" output`);
    const dense = this.#adapt(frozen, options.adaptFeatures);
    const embedding = applyOCBE(this.#ocbe, dense, true);
    const compact = tf.tidy(() => tf.mean(embedding, [1, 2]) as tf.Tensor2D);
    let loss: tf.Scalar | undefined;
    if (options.computeLoss) {
      const reconstruction = applyDecoder(this.#decoder, embedding, true);
      loss = rdLoss(frozen, reconstruction);
      tf.dispose(reconstruction);
    }
    embedding.dispose();
    return { loss, dense, matching: frozen, compact };
  }

  /** Encoder maps, eval-mode reconstruction and embedding (the caller disposes them). */
  reconstruct(images: tf.Tensor4D, options: PredictOptions = {}): RDReconstruction {
    return tf.tidy(() => {
      const encoder = this.#backbone.apply(images);
      assertRDFeatures(encoder, this.frozenChannels, `backbone "${this.#backbone.name}" output`);
      const embedding = applyOCBE(this.#ocbe, this.#adapt(encoder, options.adaptFeatures), false);
      const decoder = applyDecoder(this.#decoder, embedding, false);
      return { encoder, decoder, embedding };
    });
  }

  /** The frozen encoder maps (target) and their eval-mode reconstruction (for the analysis). */
  reconstructedFeatures(images: tf.Tensor4D, options: PredictOptions = {}): ReconstructedFeatures {
    const { encoder, decoder, embedding } = this.reconstruct(images, options);
    embedding.dispose();
    return { target: encoder, reconstruction: decoder };
  }

  /** Eval-mode pooled bottleneck embedding [B, 2·c3] (the feature global CL clusters). */
  compactFeatures(images: tf.Tensor4D, options: PredictOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const encoder = this.#backbone.apply(images);
      const embedding = applyOCBE(this.#ocbe, this.#adapt(encoder, options.adaptFeatures), false);
      return tf.mean(embedding, [1, 2]) as tf.Tensor2D;
    });
  }

  /** Anomaly maps [B, H, W] at the input size and max-of-map scores [B]. */
  predict(images: tf.Tensor4D, options: PredictOptions = {}): Prediction {
    return tf.tidy(() => {
      const { encoder, decoder } = this.reconstruct(images, options);
      const maps = rdAnomalyMap(encoder, decoder, [images.shape[1], images.shape[2]], {
        reduction: this.config.mapReduction,
        sigma: this.config.blurSigma,
        padding: this.config.blurPadding,
      });
      return { maps, scores: maxScores(maps) };
    });
  }

  /** Every variable (trainable and batch-norm running statistics) by stable name. */
  namedVariables(): Map<string, tf.Variable> {
    return this.#store.named();
  }

  /** Frees the bottleneck and decoder (not the backbone). */
  dispose(): void {
    this.#store.dispose();
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

/** Creates RD over `backbone` (see {@linkcode ReverseDistillation}). */
export function createRD(
  backbone: Backbone,
  config: Partial<RDConfig> | Record<string, unknown> = {},
  seed = 0,
): ReverseDistillation {
  return new ReverseDistillation(backbone, config, seed);
}
