/**
 * CCL's trainable per-scale projector: four 3x3 convolutions C -> C/2 -> C/4 -> C/2 -> C, each
 * followed by instance normalisation (no affine) and a LeakyReLU, as in the released RD+CCL code.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { instanceNormLeakyRelu } from "./instance_norm_act.ts";
import { applyConv2d, type Conv2d, createConv2d, VariableStore } from "../methods/layers.ts";
import { recomputeInBackward } from "../methods/components/recompute.ts";
import { RECOMPUTE_MIN_ELEMENTS } from "../methods/components/recompute.ts";

/** Epsilon of the instance normalisation (PyTorch's `InstanceNorm2d` default). */
export const INSTANCE_NORM_EPSILON = 1e-5;

/** Options of {@linkcode createProjector}. */
export interface ProjectorOptions {
  /** Negative slope of each LeakyReLU (default 0.01, PyTorch's `nn.LeakyReLU()`). */
  leakySlope?: number;
  /**
   * Under a gradient tape, a scale whose input has at least this many elements is recomputed
   * in the backward pass instead of keeping its four layers' activations on the tape (same
   * numbers; one more forward pass). Default {@linkcode RECOMPUTE_MIN_ELEMENTS}: WideResNet-50-2
   * at 256 px recomputes every scale from batch 8, the demo's small models none.
   */
  recomputeMinElements?: number;
}

/** One projector per scale, sharing nothing; each maps [B, H, W, C] to [B, H, W, C]. */
export interface Projector {
  /** Channels of each scale (input = output). */
  readonly channels: readonly number[];
  /** Projects each scale's frozen features; the list length must equal `channels.length`. */
  apply(features: readonly tf.Tensor4D[]): tf.Tensor4D[];
  /** All trainable variables. */
  variables(): tf.Variable[];
  /** Variables by stable name, `<prefix>scale<s>.conv<k>.weight`. */
  namedVariables(prefix?: string): Map<string, tf.Variable>;
  dispose(): void;
}

/** Widths of the four convolutions' outputs for `channels` input channels. */
export function projectorWidths(channels: number): [number, number, number, number] {
  if (!Number.isInteger(channels) || channels < 4) {
    throw new RangeError(`projector: need an integer channel count >= 4, got ${channels}`);
  }
  const half = Math.floor(channels / 2);
  return [half, Math.floor(channels / 4), half, channels];
}

/**
 * conv 3x3 (same padding, no bias) -> instance norm -> LeakyReLU; the last two as one step that
 * keeps only the convolution's output for the backward pass (see `instance_norm_act.ts`).
 */
function convNormAct(x: tf.Tensor4D, conv: Conv2d, slope: number): tf.Tensor4D {
  return tf.tidy(() =>
    instanceNormLeakyRelu(
      applyConv2d(conv, x),
      INSTANCE_NORM_EPSILON,
      slope,
    )
  );
}

/**
 * Builds one projector per scale with seeded weights. The convolutions have no bias: the
 * instance normalisation that follows each one subtracts every channel's mean, which removes
 * any bias exactly (the released code's biases never change the output).
 *
 * @param channels channels of each scale, e.g. `method.frozenChannels`
 * @param seed initialisation seed
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createProjector } from "./projector.ts";
 * const projector = createProjector([8, 16], 1);
 * const [a, b] = projector.apply([tf.ones([1, 4, 4, 8]), tf.ones([1, 2, 2, 16])]);
 * projector.dispose();
 * ```
 */
export function createProjector(
  channels: readonly number[],
  seed: number,
  options: ProjectorOptions = {},
): Projector {
  const slope = options.leakySlope ?? 0.01;
  const recomputeMinElements = options.recomputeMinElements ?? RECOMPUTE_MIN_ELEMENTS;
  if (!(slope >= 0) || !Number.isFinite(slope)) {
    throw new RangeError(`projector: leakySlope must be a finite number >= 0, got ${slope}`);
  }
  if (!(recomputeMinElements >= 0)) {
    throw new RangeError(
      `projector: recomputeMinElements must be a number >= 0, got ${recomputeMinElements}`,
    );
  }
  // The shared store names every kernel and derives its initialisation seed from that name, as
  // the methods' layers do; the initialiser is PyTorch's default conv init (the released code's).
  const store = new VariableStore("", seed);
  const convs: Conv2d[][] = channels.map((c, scale) => {
    let inChannels = c;
    return projectorWidths(c).map((outChannels, k) => {
      const conv = createConv2d(store, `scale${scale}.conv${k}`, {
        inChannels,
        outChannels,
        kernelSize: 3,
        padding: 1,
        init: "torch_default",
      });
      inChannels = outChannels;
      return conv;
    });
  });

  return {
    channels: [...channels],
    apply(features) {
      if (features.length !== convs.length) {
        throw new RangeError(
          `projector: expected ${convs.length} feature scales, got ${features.length}`,
        );
      }
      return features.map((feature, scale) => {
        if (feature.shape[3] !== channels[scale]) {
          throw new RangeError(
            `projector: scale ${scale} has ${feature.shape[3]} channels, expected ${
              channels[scale]
            }`,
          );
        }
        const project = (input: tf.Tensor4D) =>
          tf.tidy(() => convs[scale].reduce((x, conv) => convNormAct(x, conv, slope), input));
        if (feature.size < recomputeMinElements) return project(feature);
        return recomputeInBackward(feature, {
          apply: project,
          trainable: convs[scale].flatMap((conv) =>
            conv.bias ? [conv.weight, conv.bias] : [conv.weight]
          ),
        });
      });
    },
    variables: () => store.trainableVariables(),
    namedVariables(prefix = "ccl.projector.") {
      const named = new Map<string, tf.Variable>();
      for (const [name, variable] of store.named()) named.set(`${prefix}${name}`, variable);
      return named;
    },
    dispose() {
      store.dispose();
    },
  };
}
