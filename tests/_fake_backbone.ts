/**
 * A tiny frozen backbone for tests: three seeded, fixed patchifying convolutions (4x4 stride 4,
 * then 2x2 stride 2 twice), each followed by ReLU, giving `channels` at strides [4, 8, 16].
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Backbone } from "../lib/backbones/types.ts";
import { seededNormal } from "../lib/methods/layers.ts";

/** Creates the fake backbone; its weights are plain tensors (not variables). */
export function createFakeBackbone(
  channels: [number, number, number] = [8, 16, 32],
  seed = 1,
): Backbone {
  const specs = [[4, 3, channels[0]], [2, channels[0], channels[1]], [2, channels[1], channels[2]]];
  const kernels = specs.map(([k, cin, cout], i) =>
    tf.tensor4d(seededNormal(k * k * cin * cout, Math.sqrt(2 / (k * k * cin)), seed * 10 + i), [
      k,
      k,
      cin,
      cout,
    ])
  );
  return {
    name: "fake",
    channels,
    strides: [4, 8, 16],
    apply(images: tf.Tensor4D): tf.Tensor4D[] {
      return tf.tidy(() => {
        const outputs: tf.Tensor4D[] = [];
        let x = images;
        kernels.forEach((kernel, i) => {
          const stride = specs[i][0];
          x = tf.relu(tf.conv2d(x, kernel, stride, "valid"));
          outputs.push(x);
        });
        return outputs;
      });
    },
    dispose() {
      tf.dispose(kernels);
    },
  };
}

/** Seeded random images [B, H, W, 3] (roughly ImageNet-normalised scale). */
export function randomImages(batch: number, size: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededNormal(batch * size * size * 3, 1, seed), [batch, size, size, 3]);
}
