/**
 * Prints GFLOP/s of the `wasm` backend's conv forward pass and both gradients (with the
 * kernels of `lib/backend/wasm_conv_grads.ts`), and ms per encoder-decoder training step.
 *
 * Run: `deno run -A bench/conv_gflops.ts [--stock]` (`--stock` also times TF.js's own
 * `Conv2DBackpropInput`, which is slow).
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { convLayer, encoderDecoderStep, useWasm } from "./conv_workloads.ts";

/** Median wall time of `f` in ms over `reps` runs, after one warm-up run. */
function medianMs(f: () => tf.Tensor | number, reps: number): number {
  const run = () => {
    const r = f();
    if (typeof r !== "number") {
      r.dataSync();
      r.dispose();
    }
  };
  run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const row = (cells: (string | number)[]) =>
  console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 28 : 12)).join(""));

await useWasm();
const layers = [1, 2].map((stride) => ({ stride, ops: convLayer(8, 64, 64, 64, 3, stride) }));

if (Deno.args.includes("--stock")) {
  console.log("TF.js stock wasm Conv2DBackpropInput (before registration):");
  for (const { stride, ops } of layers) {
    const ms = medianMs(ops.inputGrad, 3);
    row([`input grad, stride ${stride}`, `${ms.toFixed(1)} ms`, (ops.flops / ms / 1e6).toFixed(1)]);
  }
}

registerWasmConvGradients();
console.log("wasm, 8x64x64x64 -> 64 channels, 3x3 'same' (GFLOP/s = 2*N*OH*OW*KH*KW*CI*CO / t)");
row(["op", "ms", "GFLOP/s", "vs forward"]);
for (const { stride, ops } of layers) {
  const forward = medianMs(ops.forward, 9);
  for (
    const [name, f] of [["forward", ops.forward], ["input grad", ops.inputGrad], [
      "filter grad",
      ops.filterGrad,
    ]] as const
  ) {
    const ms = name === "forward" ? forward : medianMs(f, 9);
    row([
      `${name}, stride ${stride}`,
      ms.toFixed(1),
      (ops.flops / ms / 1e6).toFixed(1),
      (forward / ms).toFixed(2),
    ]);
  }
  ops.dispose();
}

const train = encoderDecoderStep();
const stepMs = medianMs(train.step, 9);
train.dispose();
console.log(
  `encoder-decoder training step (batch 8, 64x64, 3->32->64->32->3, Adam): ` +
    `${stepMs.toFixed(1)} ms/step`,
);
