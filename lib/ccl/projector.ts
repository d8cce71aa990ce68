/**
 * CCL's trainable per-scale projector: four 3x3 convolutions C -> C/2 -> C/4 -> C/2 -> C, each
 * followed by instance normalisation (no affine) and a LeakyReLU, as in the released RD+CCL code.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { instanceNormLeakyRelu } from "./instance_norm_act.ts";
import { mulberry32 } from "../util/random.ts";

/** Epsilon of the instance normalisation (PyTorch's `InstanceNorm2d` default). */
export const INSTANCE_NORM_EPSILON = 1e-5;

/** TF.js variable names are global; a counter keeps every projector's names distinct. */
let projectorCount = 0;

/** Options of {@linkcode createProjector}. */
export interface ProjectorOptions {
  /** Negative slope of each LeakyReLU (default 0.01, PyTorch's `nn.LeakyReLU()`). */
  leakySlope?: number;
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
 * A seeded 3x3 kernel [3, 3, in, out] drawn as PyTorch's default conv init,
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = 9 * in.
 */
function seededKernel(inChannels: number, outChannels: number, rng: () => number): Float32Array {
  const bound = 1 / Math.sqrt(9 * inChannels);
  const values = new Float32Array(9 * inChannels * outChannels);
  for (let i = 0; i < values.length; i++) values[i] = (2 * rng() - 1) * bound;
  return values;
}

/**
 * conv 3x3 (same padding, no bias) -> instance norm -> LeakyReLU; the last two as one step that
 * keeps only the convolution's output for the backward pass (see `instance_norm_act.ts`).
 */
function convNormAct(x: tf.Tensor4D, kernel: tf.Variable, slope: number): tf.Tensor4D {
  return tf.tidy(() =>
    instanceNormLeakyRelu(
      tf.conv2d(x, kernel as tf.Tensor4D, 1, "same"),
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
  if (!(slope >= 0) || !Number.isFinite(slope)) {
    throw new RangeError(`projector: leakySlope must be a finite number >= 0, got ${slope}`);
  }
  const rng = mulberry32(seed);
  projectorCount++;
  const kernels: tf.Variable[][] = channels.map((c, scale) => {
    const widths = projectorWidths(c);
    let inChannels = c;
    return widths.map((outChannels, k) => {
      const initial = tf.tensor4d(
        seededKernel(inChannels, outChannels, rng),
        [3, 3, inChannels, outChannels],
      );
      const variable = tf.variable(
        initial,
        true,
        `ccl_projector_${projectorCount}_s${scale}_c${k}`,
      );
      // The variable shares the initial tensor's data and holds its own reference to it.
      initial.dispose();
      inChannels = outChannels;
      return variable;
    });
  });

  return {
    channels: [...channels],
    apply(features) {
      if (features.length !== kernels.length) {
        throw new RangeError(
          `projector: expected ${kernels.length} feature scales, got ${features.length}`,
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
        return tf.tidy(() =>
          kernels[scale].reduce((x, kernel) => convNormAct(x, kernel, slope), feature)
        );
      });
    },
    variables: () => kernels.flat(),
    namedVariables(prefix = "ccl.projector.") {
      const named = new Map<string, tf.Variable>();
      kernels.forEach((scaleKernels, scale) =>
        scaleKernels.forEach((kernel, k) =>
          named.set(`${prefix}scale${scale}.conv${k}.weight`, kernel)
        )
      );
      return named;
    },
    dispose() {
      for (const kernel of kernels.flat()) kernel.dispose();
    },
  };
}
