/**
 * Prints GFLOP/s of the `wasm` backend's conv forward pass and both gradients (with the
 * kernels of `lib/backend/wasm_conv_grads.ts`), the filter gradient's two routes side by side
 * (the direct SIMD kernel and the older route through the stock `Conv2D`), the 2x2 stride-2
 * transposed convolution of RD's decoder (direct gradients against the autodiff of its
 * matmul composition), and ms per encoder-decoder training step.
 *
 * The variants of one row are timed interleaved (A, B, A, B, ...) in this one process, so a
 * load that comes and goes hits both alike; each figure is the median.
 *
 * Run: `deno run -A bench/conv_gflops.ts [--stock] [--reps N]` (`--stock` also times TF.js's
 * own `Conv2DBackpropInput`, which is slow).
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import {
  conv2dBackpropFilterViaConv2D,
  conv2dBackpropFilterWasm,
} from "../lib/backend/wasm_conv_backprop_filter.ts";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { convTranspose2x2 } from "../lib/backend/conv_transpose_2x2.ts";
import { convLayer, encoderDecoderStep, seededTensor, useWasm } from "./conv_workloads.ts";

const args = parseArgs(Deno.args, { boolean: ["stock"], string: ["reps"] });
const reps = Number(args.reps ?? 9);
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`bench/conv_gflops.ts: --reps must be a positive integer, got ${args.reps}`);
}

/**
 * Runs `f` and frees its result. `wasm` kernels run synchronously, so no read-back is needed
 * (and none is timed: copying a 512 KB result out of the heap alone took ~4 ms under load).
 */
function finish(f: () => tf.Tensor | tf.Tensor[] | number): void {
  const r = f();
  if (typeof r !== "number") tf.dispose(r);
}

/**
 * Median ms of each named variant over `reps` rounds, after one warm-up round; `before`
 * runs ahead of each variant's timing (e.g. to switch a kernel) and is not timed.
 */
function interleavedMedians(
  variants: Record<string, { before?: () => void; run: () => tf.Tensor | tf.Tensor[] | number }>,
  rounds: number,
): Record<string, number> {
  const times: Record<string, number[]> = {};
  for (let round = -1; round < rounds; round++) {
    for (const [name, v] of Object.entries(variants)) {
      v.before?.();
      const t0 = performance.now();
      finish(v.run);
      if (round >= 0) (times[name] ??= []).push(performance.now() - t0);
    }
  }
  return Object.fromEntries(
    Object.entries(times).map(([name, t]) => {
      t.sort((a, b) => a - b);
      return [name, t[Math.floor(t.length / 2)]];
    }),
  );
}

const row = (cells: (string | number)[]) =>
  console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 44 : 12)).join(""));

/** Registers `kernelFunc` as the wasm `Conv2DBackpropFilter`. */
function useFilterKernel(kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, "wasm")?.kernelFunc === kernelFunc) return;
  tf.unregisterKernel(tf.Conv2DBackpropFilter, "wasm");
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: "wasm", kernelFunc });
}
const direct = conv2dBackpropFilterWasm as tf.KernelFunc;
const viaConv2D = conv2dBackpropFilterViaConv2D as tf.KernelFunc;

await useWasm();
console.log(
  `wasm backend, ${reps} interleaved rounds, medians; machine load at start: ${
    Deno.loadavg().map((v) => v.toFixed(2)).join(" ")
  }`,
);

if (args.stock) {
  console.log("TF.js stock wasm Conv2DBackpropInput (before registration):");
  for (const stride of [1, 2]) {
    const ops = convLayer(8, 64, 64, 64, 3, stride);
    const { stock } = interleavedMedians({ stock: { run: ops.inputGrad } }, 3);
    row([
      `input grad, stride ${stride}`,
      `${stock.toFixed(1)} ms`,
      (ops.flops / stock / 1e6)
        .toFixed(1),
    ]);
    ops.dispose();
  }
}

registerWasmConvGradients();
console.log("\nconv [n, s, s, ci] -> co, 3x3 'same' (GFLOP/s = 2*N*OH*OW*KH*KW*CI*CO / t)");
row(["op", "ms", "GFLOP/s", "vs forward"]);
const layers: [number, number, number, number, number][] = [
  [8, 64, 64, 64, 1],
  [8, 64, 64, 64, 2],
  [16, 16, 64, 64, 1],
  [16, 8, 128, 128, 1],
];
for (const [n, size, ci, co, stride] of layers) {
  const ops = convLayer(n, size, ci, co, 3, stride);
  const ms = interleavedMedians({
    "forward": { run: ops.forward },
    "input grad": { run: ops.inputGrad },
    "filter grad (direct SIMD)": { before: () => useFilterKernel(direct), run: ops.filterGrad },
    "filter grad (via Conv2D)": { before: () => useFilterKernel(viaConv2D), run: ops.filterGrad },
  }, reps);
  useFilterKernel(direct);
  for (const [name, t] of Object.entries(ms)) {
    row([
      `${n}x${size}²x${ci}->${co} s${stride} ${name}`,
      t.toFixed(1),
      (ops.flops / t / 1e6).toFixed(1),
      (ms.forward / t).toFixed(2),
    ]);
  }
  ops.dispose();
}

/** The former `applyConvTranspose2x2`: a matmul and a reshuffle, differentiated by autodiff. */
function matmulRoute(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [b, h, wd, ci] = x.shape;
  const co = w.shape[3];
  const flat = tf.matMul(tf.reshape(x, [b * h * wd, ci]), tf.reshape(w, [ci, 4 * co]));
  const rows = tf.transpose(tf.reshape(flat, [b * h, wd, 2, 2 * co]), [0, 2, 1, 3]);
  return tf.reshape(rows, [b, 2 * h, 2 * wd, co]);
}

console.log(
  "\n2x2 stride-2 transposed conv [n, s, s, in] -> [n, 2s, 2s, out]: forward, and forward +" +
    " both gradients (GFLOP/s = 2*N*S*S*IN*4*OUT per pass, 3 passes with gradients)",
);
row(["shape, route", "fwd ms", "fwd+grad ms", "GFLOP/s", "vs matmul"]);
const transposedShapes: [number, number, number, number][] = [
  [16, 2, 256, 128],
  [16, 4, 128, 64],
  [16, 8, 64, 32],
  [16, 16, 512, 256],
  [16, 32, 256, 128],
];
for (const [n, s, ci, co] of transposedShapes) {
  const x = seededTensor([n, s, s, ci], 1) as tf.Tensor4D;
  const w = seededTensor([ci, 2, 2, co], 2) as tf.Tensor4D;
  const g = seededTensor([n, 2 * s, 2 * s, co], 3);
  const withGrads = (f: typeof matmulRoute) => () =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), g))
    )([x, w]);
  const ms = interleavedMedians({
    "matmul fwd": { run: () => matmulRoute(x, w) },
    "direct fwd": { run: () => convTranspose2x2(x, w) },
    "matmul grad": { run: withGrads(matmulRoute) },
    "direct grad": { run: withGrads(convTranspose2x2) },
  }, reps);
  const flops = 3 * 2 * n * s * s * ci * 4 * co;
  for (const route of ["matmul", "direct"]) {
    row([
      `[${n},${s},${s},${ci}]->${co} ${route}`,
      ms[`${route} fwd`].toFixed(2),
      ms[`${route} grad`].toFixed(2),
      (flops / ms[`${route} grad`] / 1e6).toFixed(1),
      (ms["matmul grad"] / ms[`${route} grad`]).toFixed(2),
    ]);
  }
  tf.dispose([x, w, g]);
}

const train = encoderDecoderStep();
const { step } = interleavedMedians({ step: { run: train.step } }, reps);
train.dispose();
console.log(
  `\nencoder-decoder training step (batch 8, 64x64, 3->32->64->32->3, Adam): ` +
    `${step.toFixed(1)} ms/step`,
);
