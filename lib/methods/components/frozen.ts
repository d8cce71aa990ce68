/**
 * Applying a frozen (pretrained) backbone inside a training step.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Runs the frozen backbone without recording its operations on an active gradient tape.
 *
 * Inside `tf.variableGrads`, every op keeps the tensors its gradient would need until the tape
 * ends, although no gradient ever flows into a frozen encoder; for WRN-50 at 256² and batch 16
 * that is gigabytes (and wasm has a 4 GiB heap). A custom-gradient op's forward pass is not
 * taped, so the backbone runs inside one whose gradient is zero; its three outputs travel
 * flattened in one tensor, because a custom op returns a single tensor.
 */
export function applyFrozen(
  apply: (images: tf.Tensor4D) => tf.Tensor4D[],
  images: tf.Tensor4D,
): tf.Tensor4D[] {
  let shapes: [number, number, number, number][] = [];
  const batch = images.shape[0];
  const packed = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor4D;
    const features = apply(x);
    shapes = features.map((f) => f.shape);
    const value = tf.concat(features.map((f) => tf.reshape(f, [batch, -1])), 1);
    return { value, gradFunc: (dy: tf.Tensor) => tf.zeros(x.shape, dy.dtype) };
  })(images);
  // split's gradient needs none of its inputs, so nothing of `packed` stays on the tape.
  const features = tf.tidy(() => {
    const sizes = shapes.map((shape) => shape[1] * shape[2] * shape[3]);
    return tf.split(packed, sizes, 1).map((part, i) => tf.reshape(part, shapes[i]) as tf.Tensor4D);
  });
  packed.dispose();
  return features;
}

/**
 * `x` with no gradient flowing back through it (PyTorch's `detach`): an identity whose
 * gradient is zero.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = inputs[0] as tf.Tensor;
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  })(x) as T;
}
