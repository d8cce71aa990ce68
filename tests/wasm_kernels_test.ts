import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { batchMatMulWasm, registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();

function seeded(shape: number[], seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => randomNormal(rng));
}

async function matMulOn(
  backend: string,
  a: [Float32Array, number[]],
  b: [Float32Array, number[]],
  transposeA: boolean,
  transposeB: boolean,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  await tf.ready();
  return tf.tidy(() => {
    const y = tf.matMul(tf.tensor(...a), tf.tensor(...b), transposeA, transposeB);
    return { shape: y.shape, values: y.dataSync() as Float32Array };
  });
}

const cases: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [
  { a: [64, 32], b: [16, 32], tA: false, tB: true },
  { a: [64, 16], b: [64, 32], tA: true, tB: false },
  { a: [7, 5], b: [3, 7], tA: true, tB: true },
  { a: [6, 5], b: [5, 4], tA: false, tB: false },
  { a: [3, 6, 5], b: [3, 4, 5], tA: false, tB: true },
  { a: [2, 5, 6], b: [1, 5, 4], tA: true, tB: false },
];

for (const { a, b, tA, tB } of cases) {
  Deno.test(`wasm BatchMatMul [${a}]${tA ? "ᵀ" : ""} x [${b}]${tB ? "ᵀ" : ""} matches cpu`, async () => {
    const inA: [Float32Array, number[]] = [seeded(a, 1), a];
    const inB: [Float32Array, number[]] = [seeded(b, 2), b];
    const expected = await matMulOn("cpu", inA, inB, tA, tB);
    const before = tf.memory().numTensors;
    const actual = await matMulOn("wasm", inA, inB, tA, tB);
    assertEquals(tf.memory().numTensors, before, "no tensors leaked");
    assertEquals(tf.getKernel(tf.BatchMatMul, "wasm")?.kernelFunc, batchMatMulWasm);
    assertEquals(actual.shape, expected.shape);
    for (let i = 0; i < expected.values.length; i++) {
      const err = Math.abs(actual.values[i] - expected.values[i]);
      assert(err <= 1e-5 * (1 + Math.abs(expected.values[i])), `element ${i}: ${err}`);
    }
  });
}

Deno.test("wasm matMul gradients (transposed products) match cpu", async () => {
  const a: [Float32Array, number[]] = [seeded([32, 16], 3), [32, 16]];
  const b: [Float32Array, number[]] = [seeded([16, 8], 4), [16, 8]];
  const grads = async (backend: string) => {
    await tf.setBackend(backend);
    await tf.ready();
    return tf.tidy(() => {
      const w = tf.tensor(seeded([32, 8], 5), [32, 8]);
      const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([
        tf.tensor(...a),
        tf.tensor(...b),
      ]);
      return g.map((t) => t.dataSync() as Float32Array);
    });
  };
  const expected = await grads("cpu");
  const actual = await grads("wasm");
  for (const [k, values] of expected.entries()) {
    for (let i = 0; i < values.length; i++) {
      assert(Math.abs(actual[k][i] - values[i]) <= 1e-5 * (1 + Math.abs(values[i])));
    }
  }
});

Deno.test("wasm Pow matches cpu for scalar exponents 2, 1 and others, and in norm gradients", async () => {
  const x = seeded([4, 37], 6);
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    await tf.ready();
    return tf.tidy(() => {
      const t = tf.tensor2d(x, [4, 37]);
      const outs = [2, 1, 3, 0.5].map((e) => tf.pow(tf.abs(t), e));
      outs.push(tf.pow(t, tf.tensor1d([2])));
      outs.push(tf.grad((v: tf.Tensor) => tf.sum(tf.norm(v, "euclidean", 1)))(t));
      return outs.map((o) => ({ shape: o.shape, values: o.dataSync() as Float32Array }));
    });
  };
  const expected = await run("cpu");
  const actual = await run("wasm");
  for (const [k, e] of expected.entries()) {
    assertEquals(actual[k].shape, e.shape);
    for (let i = 0; i < e.values.length; i++) {
      const err = Math.abs(actual[k].values[i] - e.values[i]);
      assert(err <= 1e-5 * (1 + Math.abs(e.values[i])), `output ${k}, element ${i}: ${err}`);
    }
  }
  assertEquals(tf.pow(tf.tensor1d([3, -2]), 2).dataSync().join(), "9,4");
});
