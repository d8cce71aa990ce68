/**
 * `deno bench -A bench/conv_bench.ts`: the `wasm` backend's conv forward pass, input
 * gradient and filter gradient (kernels of `lib/backend/wasm_conv_grads.ts`) on
 * 8x64x64x64 -> 64 channels, 3x3 'same', strides 1 and 2, and a training step of a 4-layer
 * conv encoder-decoder (batch 8, 64x64). `bench/conv_gflops.ts` prints the same as GFLOP/s.
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { convLayer, encoderDecoderStep, useWasm } from "./conv_workloads.ts";

registerWasmConvGradients();
await useWasm();

/** Runs `f` and waits for its result, so the timing covers the whole kernel. */
function finish(f: () => tf.Tensor): void {
  const t = f();
  t.dataSync();
  t.dispose();
}

for (const stride of [1, 2]) {
  const ops = convLayer(8, 64, 64, 64, 3, stride);
  const group = `conv 8x64x64x64->64 3x3 stride ${stride}`;
  const gflop = (ops.flops / 1e9).toFixed(2);
  Deno.bench(`forward (${gflop} GFLOP)`, { group, baseline: true }, () => finish(ops.forward));
  Deno.bench(`input grad (${gflop} GFLOP)`, { group }, () => finish(ops.inputGrad));
  Deno.bench(`filter grad (${gflop} GFLOP)`, { group }, () => finish(ops.filterGrad));
}

const train = encoderDecoderStep();
Deno.bench("encoder-decoder train step, batch 8, 64x64, 3->32->64->32->3, Adam", () => {
  train.step();
});
