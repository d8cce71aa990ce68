/**
 * Training-mode batch norm, forward and backward, on `wasm`: the fused kernels
 * (`lib/backend/wasm_batch_norm.ts`) against the composite of TF.js ops, on activations
 * shaped like small_resnet's at batch 16 and 64 x 64 input. `bench/batch_norm_step.ts`
 * measures the effect on a whole RD training step.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "../lib/backend/register_gradients.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { registerWasmBatchNorm, unregisterWasmBatchNorm } from "../lib/backend/wasm_batch_norm.ts";
import { trainingBatchNorm } from "../lib/methods/layers.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

await selectBackend({ requested: "wasm", log: false });

const shapes: [number, number, number, number][] = [[16, 32, 32, 64], [16, 8, 8, 256]];

for (const shape of shapes) {
  const rng = mulberry32(1);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(Float32Array.from({ length: n }, () => randomNormal(rng)), shape);
  const weights = tf.tensor4d(Float32Array.from({ length: n }, () => randomNormal(rng)), shape);
  const gamma = tf.ones([shape[3]]) as tf.Tensor1D, beta = tf.zeros([shape[3]]) as tf.Tensor1D;
  const step = async () => {
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.mul(
          trainingBatchNorm(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
          weights,
        ),
      )
    )([x, gamma, beta]);
    await grads[0].data();
    tf.dispose(grads);
  };
  const group = `batch norm [${shape}]`;
  Deno.bench(`fused, forward + backward [${shape}]`, { group, baseline: true }, async () => {
    registerWasmBatchNorm();
    await step();
  });
  Deno.bench(`composite, forward + backward [${shape}]`, { group }, async () => {
    unregisterWasmBatchNorm();
    await step();
    registerWasmBatchNorm();
  });
}
