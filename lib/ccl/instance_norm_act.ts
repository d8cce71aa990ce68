/**
 * Instance normalisation (no affine) followed by a LeakyReLU, as one differentiable step whose
 * backward pass keeps only its input: the composite form leaves four full-size tensors per layer
 * on the gradient tape (centred values twice, normalised values, the activation's input), which
 * made CCL's projector the largest memory cost of a CCL step.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** `x - mean` and `1 / sqrt(var + eps)` over each image's spatial positions, per channel. */
function normalised(x: tf.Tensor4D, epsilon: number): { xHat: tf.Tensor4D; rstd: tf.Tensor4D } {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const rstd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor4D;
  return { xHat: tf.mul(tf.sub(x, mean), rstd) as tf.Tensor4D, rstd };
}

/**
 * `leakyRelu(instanceNorm(x, epsilon), slope)` for NHWC `x`, with the same forward values as the
 * composite (same operations) and an analytic gradient that recomputes the statistics from `x`:
 * with x̂ the normalised input, g = dy * (x̂ > 0 ? 1 : slope) and means over H, W,
 * `dx = rstd * (g - mean(g) - x̂ * mean(g * x̂))`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { instanceNormLeakyRelu } from "./instance_norm_act.ts";
 * const y = instanceNormLeakyRelu(tf.randomNormal([1, 4, 4, 2]) as tf.Tensor4D, 1e-5, 0.01);
 * ```
 */
export function instanceNormLeakyRelu(
  x: tf.Tensor4D,
  epsilon: number,
  slope: number,
): tf.Tensor4D {
  const fused = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    save([input]);
    const value = tf.tidy(() => tf.leakyRelu(normalised(input, epsilon).xHat, slope));
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const { xHat, rstd } = normalised(saved[0] as tf.Tensor4D, epsilon);
        const g = tf.mul(
          dy,
          tf.where(tf.greater(xHat, 0), tf.onesLike(xHat), tf.fill(xHat.shape, slope)),
        );
        const meanG = tf.mean(g, [1, 2], true);
        const meanGX = tf.mean(tf.mul(g, xHat), [1, 2], true);
        return tf.mul(rstd, tf.sub(tf.sub(g, meanG), tf.mul(xHat, meanGX)));
      });
    return { value, gradFunc };
  });
  return fused(x) as tf.Tensor4D;
}
