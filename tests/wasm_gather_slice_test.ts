import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assertEquals, assertThrows } from "@std/assert";
import {
  concatWasm,
  gatherWasm,
  packWasm,
  registerWasmGatherSlice,
  sliceWasm,
  splitVWasm,
} from "../lib/backend/wasm_gather_slice.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmGatherSlice();

function seeded(shape: number[], seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => randomNormal(rng));
}

/** `f`'s outputs (shape, dtype, values) on `backend`; what it leaves behind must be nothing. */
async function on(backend: string, f: () => tf.Tensor[]) {
  await tf.setBackend(backend);
  await tf.ready();
  const before = tf.memory().numTensors;
  const outputs = tf.tidy(f);
  const result = [];
  for (const t of outputs) {
    result.push({ shape: t.shape, dtype: t.dtype, values: [...await t.data()] });
  }
  tf.dispose(outputs);
  assertEquals(tf.memory().numTensors, before, `${backend}: tensors left behind`);
  return result;
}

/** Same outputs, bit for bit, on wasm (our kernels) and cpu. */
async function assertSameAsCpu(f: () => tf.Tensor[]) {
  assertEquals(tf.getKernel(tf.GatherV2, "wasm")?.kernelFunc, gatherWasm as tf.KernelFunc);
  assertEquals(tf.getKernel(tf.Slice, "wasm")?.kernelFunc, sliceWasm as tf.KernelFunc);
  assertEquals(tf.getKernel(tf.SplitV, "wasm")?.kernelFunc, splitVWasm as unknown as tf.KernelFunc);
  assertEquals(tf.getKernel(tf.Concat, "wasm")?.kernelFunc, concatWasm as unknown as tf.KernelFunc);
  assertEquals(tf.getKernel(tf.Pack, "wasm")?.kernelFunc, packWasm as unknown as tf.KernelFunc);
  assertEquals(await on("wasm", f), await on("cpu", f));
}

Deno.test("wasm GatherV2 matches cpu on every axis, rank, dtype and run length", async () => {
  await assertSameAsCpu(() => {
    const x = tf.tensor(seeded([5, 7, 3, 20], 1), [5, 7, 3, 20]);
    const rows = tf.tensor1d([4, 0, 4, 2, 1, 3], "int32");
    const grid = tf.tensor2d([[2, 0], [6, 6], [1, 5]], [3, 2], "int32");
    return [
      tf.gather(x, rows, 0),
      tf.gather(x, grid, 1), // 2-D indices, runs of 60
      tf.gather(x, tf.tensor1d([2, 0], "int32"), 2), // runs of 20
      tf.gather(x, tf.tensor1d([19, 0, 7], "int32"), 3), // runs of 1
      tf.gather(tf.tensor1d([1, 2, 3], "int32"), tf.tensor1d([2, 2, 0], "int32")),
      tf.gather(tf.tensor1d([true, false, true], "bool"), tf.tensor1d([1, 0], "int32")),
      tf.gather(x, tf.tensor1d([], "int32"), 0), // empty
      tf.gather(tf.tensor2d(seeded([64, 300], 2), [64, 300]), tf.tensor1d([63, 5, 5], "int32")),
    ];
  });
});

Deno.test("wasm GatherV2 with batchDims (the stock kernel) matches cpu", async () => {
  await assertSameAsCpu(() => {
    const x = tf.tensor(seeded([2, 4, 3], 3), [2, 4, 3]);
    return [tf.gather(x, tf.tensor2d([[3, 1], [0, 0]], [2, 2], "int32"), 1, 1)];
  });
});

Deno.test("wasm GatherV2 refuses an index outside the axis, as the stock kernel", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  for (const bad of [2, -1]) {
    const indices = tf.tensor1d([0, bad], "int32");
    assertThrows(() => tf.gather(x, indices), Error, `index value ${bad} is not in [0, 1]`);
    indices.dispose();
  }
  x.dispose();
});

Deno.test("wasm Slice and SplitV match cpu, contiguous or not, rank 1 to 5", async () => {
  await assertSameAsCpu(() => {
    const x = tf.tensor(seeded([3, 4, 5, 6, 40], 5), [3, 4, 5, 6, 40]);
    const m = tf.tensor2d(seeded([50, 33], 6), [50, 33]);
    return [
      tf.slice(tf.tensor1d([1, 2, 3, 4], "int32"), [1], [2]),
      tf.slice(m, [10, 0], [20, 33]), // contiguous rows
      tf.slice(m, [3, 5], [40, 20]), // runs of 20
      tf.slice(m, [0, 32], [50, 1]), // runs of 1
      tf.slice(x, [1, 0, 2, 1, 3], [2, 4, 3, 5, 30]),
      tf.slice(x, [0, 1, 0, 0, 0], [3, -1, 5, 6, 40]),
      tf.slice(x, [0, 0, 0, 0, 0], [3, 0, 5, 6, 40]), // empty
      tf.slice(tf.tensor2d([[true, false], [false, true]], [2, 2], "bool"), [0, 1], [2, 1]),
      ...tf.split(m, [10, 3, 20], 1),
      ...tf.split(x, 2, 1),
      ...tf.split(m, [7, -1], 0),
    ];
  });
});

Deno.test("wasm Slice and SplitV gradients match cpu", async () => {
  await assertSameAsCpu(() => {
    const x = tf.tensor(seeded([4, 6, 9], 7), [4, 6, 9]);
    const w = tf.tensor(seeded([4, 3, 9], 8), [4, 3, 9]);
    const viaSlice = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(tf.slice(v, [0, 2, 0], [4, 3, 9]), w))
    )(x);
    const viaSplit = tf.grad((v: tf.Tensor) => {
      const [a, b] = tf.split(v, [3, 3], 1);
      return tf.sum(tf.mul(tf.sub(a, tf.square(b)), w));
    })(x);
    return [viaSlice, viaSplit];
  });
});

Deno.test("wasm Concat and Pack match cpu on every axis, with empty parts and gradients", async () => {
  await assertSameAsCpu(() => {
    const maps = [0, 1, 2].map((i) => tf.tensor3d(seeded([4, 5, 6], 10 + i), [4, 5, 6]));
    const w = tf.tensor(seeded([4, 5, 6, 3], 13), [4, 5, 6, 3]);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(tf.stack([a, b, c], -1), w))
    )(maps);
    return [
      tf.stack(maps, -1), // runs of 1: the pixel matching's stack
      tf.stack(maps, 0),
      tf.stack(maps, 1),
      tf.stack([tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32")]),
      tf.stack([tf.scalar(1), tf.scalar(2), tf.scalar(3)]),
      tf.stack([maps[0]]),
      tf.concat(maps, 0),
      tf.concat(maps, 2),
      tf.concat([maps[0], tf.zeros([4, 5, 0]), maps[1]], -1),
      tf.concat([
        tf.tensor2d(seeded([3, 40], 14), [3, 40]),
        tf.tensor2d(seeded([3, 2], 15), [3, 2]),
      ], 1),
      tf.concat([tf.tensor1d([true], "bool"), tf.tensor1d([false, true], "bool")]),
      ...grads,
    ];
  });
});

Deno.test("wasm Pack still refuses tensors of different shapes", async () => {
  await tf.setBackend("wasm");
  const a = tf.tensor1d([1, 2]);
  const b = tf.tensor1d([1, 2, 3]);
  assertThrows(() => tf.stack([a, b]), Error, "matching shapes");
  tf.dispose([a, b]);
});
