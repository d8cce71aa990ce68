import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import {
  applyBatchNorm,
  createBatchNorm,
  trainingBatchNorm,
  VariableStore,
} from "../lib/methods/layers.ts";
import {
  BATCH_NORM_TRAIN_BACKWARD_KERNEL,
  BATCH_NORM_TRAIN_FORWARD_KERNEL,
  fusedRunningStatistics,
  hasFusedTrainingBatchNorm,
} from "../lib/backend/wasm_batch_norm.ts";
import {
  type BatchNormLoop,
  batchNormModuleBytes,
  LOOP_POINTERS,
  scalarLoop,
  simdBatchNormFor,
} from "../lib/backend/wasm_batch_norm_simd.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

function seeded(length: number, seed: number, scale = 1, offset = 0): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length }, () => offset + scale * randomNormal(rng));
}

interface Case {
  shape: [number, number, number, number];
  scale?: number;
  offset?: number;
}

/** Forward outputs, batch statistics and the gradients of a weighted loss, read back. */
interface Outcome {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
}

async function runOn(backend: string, c: Case): Promise<Outcome> {
  await tf.setBackend(backend);
  await tf.ready();
  const [b, h, w, ch] = c.shape;
  const n = b * h * w * ch;
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(n, 1, c.scale ?? 1, c.offset ?? 0), c.shape);
    const gamma = tf.tensor1d(seeded(ch, 2, 0.5, 1));
    const beta = tf.tensor1d(seeded(ch, 3));
    const weights = tf.tensor4d(seeded(n, 4), c.shape);
    const stats: tf.Tensor[] = [];
    const y = trainingBatchNorm(x, gamma, beta, 1e-5, (m, v) => {
      stats.push(tf.keep(m.clone()), tf.keep(v.clone()));
    });
    // A loss whose gradient is not trivially removed by the normalisation.
    const loss = (a: tf.Tensor, g: tf.Tensor, be: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.square(trainingBatchNorm(a as tf.Tensor4D, g as tf.Tensor1D, be as tf.Tensor1D, 1e-5)),
          weights,
        ),
      );
    const [dx, dGamma, dBeta] = tf.grads(loss)([x, gamma, beta]);
    const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
    const out = {
      y: read(y),
      mean: read(stats[0]),
      variance: read(stats[1]),
      dx: read(dx),
      dGamma: read(dGamma),
      dBeta: read(dBeta),
    };
    tf.dispose(stats);
    return out;
  });
}

function assertClose(name: string, actual: Float32Array, expected: Float32Array, rel: number) {
  assertEquals(actual.length, expected.length, name);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert(
      err <= rel * (scale + 1e-6),
      `${name}[${i}]: ${actual[i]} vs ${expected[i]} (error ${err}, scale ${scale})`,
    );
  }
}

const cases: Case[] = [
  { shape: [4, 5, 6, 8] },
  { shape: [2, 3, 3, 3] }, // C not a multiple of 4, total not a multiple of a period
  { shape: [5, 1, 1, 6] }, // H*W = 1
  { shape: [1, 8, 8, 5] }, // batch 1
  { shape: [2, 7, 9, 13], scale: 3, offset: -2 },
  { shape: [8, 16, 16, 24] }, // several statistics blocks
  { shape: [3, 1, 1, 1] }, // one channel, shorter than a period
];

for (const c of cases) {
  Deno.test(`fused wasm batch norm [${c.shape}]: forward and gradients match cpu`, async () => {
    const expected = await runOn("cpu", c);
    await tf.setBackend("wasm");
    assert(hasFusedTrainingBatchNorm(), "the fused kernels serve wasm");
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    const actual = await runOn("wasm", c);
    assertEquals(tf.memory().numTensors, tensors, "no tensors leaked");
    assertEquals(tf.engine().backend.numDataIds(), dataIds, "no heap buffers leaked");
    assertClose("y", actual.y, expected.y, 2e-6);
    assertClose("mean", actual.mean, expected.mean, 2e-6);
    assertClose("variance", actual.variance, expected.variance, 2e-6);
    assertClose("dx", actual.dx, expected.dx, 1e-5);
    assertClose("dgamma", actual.dGamma, expected.dGamma, 1e-5);
    assertClose("dbeta", actual.dBeta, expected.dBeta, 1e-5);
  });
}

Deno.test("fused wasm batch norm: statistics of data far from zero match float64", async () => {
  await tf.setBackend("wasm");
  const shape: [number, number, number, number] = [16, 32, 32, 12];
  const n = shape.reduce((a, b) => a * b, 1), ch = shape[3];
  // Mean 1000, standard deviation 0.01: E[x²] - E[x]² would lose every digit in float32.
  const values = seeded(n, 5, 0.01, 1000);
  const mean64 = new Float64Array(ch), m2 = new Float64Array(ch);
  for (let i = 0; i < n; i++) mean64[i % ch] += values[i] / (n / ch);
  for (let i = 0; i < n; i++) m2[i % ch] += (values[i] - mean64[i % ch]) ** 2;
  const stats = tf.tidy(() => {
    const out: number[][] = [];
    trainingBatchNorm(tf.tensor4d(values, shape), tf.ones([ch]), tf.zeros([ch]), 1e-5, (m, v) => {
      out.push([...m.dataSync()], [...v.dataSync()]);
    });
    return out;
  });
  for (let c = 0; c < ch; c++) {
    const variance = m2[c] / (n / ch);
    assert(Math.abs(stats[0][c] - mean64[c]) <= 1e-7 * 1000, `mean ${c}`);
    assert(
      Math.abs(stats[1][c] - variance) <= 1e-3 * variance,
      `variance ${c}: ${stats[1][c]} vs ${variance}`,
    );
  }
});

Deno.test("fused wasm batch norm: one kernel forward and one backward", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor4d(seeded(2 * 4 * 4 * 8, 6), [2, 4, 4, 8]);
  const gamma = tf.ones([8]) as tf.Tensor1D, beta = tf.zeros([8]) as tf.Tensor1D;
  const profile = await tf.profile(() => {
    const [dx] = tf.grads((a: tf.Tensor) =>
      tf.sum(trainingBatchNorm(a as tf.Tensor4D, gamma, beta, 1e-5))
    )([x]);
    return dx;
  });
  const names = profile.kernels.map((k) => k.name);
  assertEquals(names.filter((n) => n === BATCH_NORM_TRAIN_FORWARD_KERNEL).length, 1);
  assertEquals(names.filter((n) => n === BATCH_NORM_TRAIN_BACKWARD_KERNEL).length, 1);
  assert(!names.includes("BatchNorm") && !names.includes("FusedBatchNorm"), names.join());
  tf.dispose([x, gamma, beta]);
});

Deno.test("fused wasm batch norm: the cpu backend keeps the composite path", async () => {
  await tf.setBackend("cpu");
  assert(!hasFusedTrainingBatchNorm());
});

Deno.test("fused wasm batch norm: rejects mismatched shapes with a clear error", async () => {
  await tf.setBackend("wasm");
  const [x, gamma, beta] = [tf.zeros([2, 2, 2, 3]), tf.ones([4]), tf.zeros([3])];
  let message = "";
  try {
    tf.engine().runKernel(BATCH_NORM_TRAIN_FORWARD_KERNEL, { x, gamma, beta }, { epsilon: 1e-5 });
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("gamma has shape [4], expected [3]"), message);
  tf.dispose([x, gamma, beta]);
});

Deno.test("fused running-statistics update equals the composite bit for bit", async () => {
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const [rm, rv, m] = [8, 9, 10].map((seed) => tf.tensor1d(seeded(37, seed)));
    const v = tf.abs(tf.tensor1d(seeded(37, 11))) as tf.Tensor1D;
    const [momentum, count] = [0.1, 16 * 8 * 8];
    const [mean1, var1] = fusedRunningStatistics(rm, rv, m, v, momentum, count);
    const unbiased = tf.mul(v, count / (count - 1));
    const wantMean = tf.add(tf.mul(rm, 1 - momentum), tf.mul(m, momentum));
    const wantVar = tf.add(tf.mul(rv, 1 - momentum), tf.mul(unbiased, momentum));
    const bits = (t: tf.Tensor) => [...new Uint32Array((t.dataSync() as Float32Array).buffer)];
    assertEquals(bits(mean1), bits(wantMean));
    assertEquals(bits(var1), bits(wantVar));
  });
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("applyBatchNorm on wasm tracks running statistics like cpu", async () => {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const store = new VariableStore("", 3);
    const bn = createBatchNorm(store, "bn", 6, { momentum: 0.2 });
    const before = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) {
      tf.tidy(() => {
        const x = tf.tensor4d(seeded(4 * 5 * 5 * 6, 20 + step, 2, 1), [4, 5, 5, 6]);
        applyBatchNorm(bn, x, true);
      });
    }
    assertEquals(tf.memory().numTensors, before, `${backend}: no tensors leaked`);
    const out = [bn.runningMean.dataSync(), bn.runningVar.dataSync()] as Float32Array[];
    store.dispose();
    return out;
  };
  const [cpuMean, cpuVar] = await run("cpu");
  const [wasmMean, wasmVar] = await run("wasm");
  assertClose("running mean", wasmMean, cpuMean, 2e-6);
  assertClose("running variance", wasmVar, cpuVar, 2e-6);
});

// The SIMD loops and their scalar twins, run on a memory of our own, must agree bit for bit.
Deno.test("batch-norm SIMD loops equal their scalar twins bit for bit", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const bytes = batchNormModuleBytes(false);
  assert(WebAssembly.validate(bytes), "the module validates");
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as Record<BatchNormLoop, (...args: number[]) => void>;
  const period = 12, count = 10 * period;
  // Regions of 256 floats each: enough for any data or period pointer.
  const region = (k: number) => k * 256 * 4;
  for (const loop of Object.keys(LOOP_POINTERS) as BatchNormLoop[]) {
    const pointers = LOOP_POINTERS[loop].map((_, k) => region(k));
    const fill = () => {
      const heap = new Float32Array(memory.buffer);
      heap.set(seeded(8 * 256, 7, 3, 0.5));
      return heap;
    };
    fill();
    exports[loop](count * 4, period * 4, ...pointers);
    const simd = new Float32Array(memory.buffer).slice(0, 8 * 256);
    const heap = fill();
    scalarLoop(loop, heap, count, period, pointers.map((p) => p / 4));
    const scalar = heap.slice(0, 8 * 256);
    assertEquals(
      new Uint32Array(scalar.buffer).join(),
      new Uint32Array(simd.buffer).join(),
      `${loop}: SIMD and scalar differ`,
    );
  }
});

// The threaded wasm binary imports a shared memory (`wasm.wasmMemory`) instead of exporting one.
Deno.test("batch-norm SIMD loops bind to the threaded backend's shared memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  const backend = { wasm: { wasmMemory: memory } } as unknown as Parameters<
    typeof simdBatchNormFor
  >[0];
  const loops = simdBatchNormFor(backend);
  if (loops === undefined) throw new Error("no SIMD loops for a shared memory");
  const heap = new Float32Array(memory.buffer);
  heap.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
  loops.sum(8 * 4, 4 * 4, 0, 64 * 4);
  assertEquals([...heap.subarray(64, 68)], [6, 8, 10, 12]);
});
