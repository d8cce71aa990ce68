import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { planAxis } from "../lib/backend/wasm_conv_phase_plan.ts";
import {
  conv2dBackpropFilterViaConv2D,
  unalignedTapPadding,
} from "../lib/backend/wasm_conv_backprop_filter.ts";
import { conv2dBackpropFilterSimd } from "../lib/backend/wasm_conv_filter_simd.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

registerWasmConvGradients();

function seededValues(size: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: size }, () => randomNormal(rng));
}

function seeded4d(shape: Shape4, seed: number): tf.Tensor4D {
  return tf.tensor4d(seededValues(shape.reduce((a, b) => a * b), seed), shape);
}

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  await tf.setBackend(name);
  await tf.ready();
  return f();
}

/** Asserts |a - b| <= 1e-3 * max|b| (+ a tiny floor) elementwise, naming the offender. */
function assertClose(what: string, actual: Float32Array, expected: Float32Array): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  assert(scale > 0, `${what}: expected values are all zero, the test would prove nothing`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= 1e-3 * scale + 1e-6)) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: Pad;
}

/** Output, d/dx and d/dfilter of sum(conv2d(x, filter) * g) for a seeded upstream g. */
function conv2dWithGrads(c: ConvCase, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = seeded4d(c.x, seed);
    const filter = seeded4d(c.filter, seed + 1);
    const out = tf.conv2d(x, filter, c.strides, c.pad);
    const g = seeded4d(out.shape, seed + 2);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), g));
    const [dx, dw] = tf.grads(f)([x, filter]);
    return [out, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

interface TransposeCase {
  x: Shape4;
  filter: Shape4; // [kh, kw, outChannels, inChannels]
  outShape: Shape4;
  strides: number | [number, number];
  pad: "same" | "valid";
}

/** Output, d/dx and d/dfilter of sum(conv2dTranspose(x, filter) * g). */
function conv2dTransposeWithGrads(c: TransposeCase, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = seeded4d(c.x, seed);
    const filter = seeded4d(c.filter, seed + 1);
    const run = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, c.outShape, c.strides, c.pad);
    const out = run(x, filter);
    const g = seeded4d(out.shape, seed + 2);
    const [dx, dw] = tf.grads((a, b) => tf.sum(tf.mul(run(a, b), g)))([x, filter]);
    return [out, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: "same" },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: "valid" },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
  { x: [2, 8, 10, 3], filter: [3, 3, 3, 4], strides: 2, pad: "same" },
  { x: [3, 8, 6, 2], filter: [3, 2, 2, 5], strides: 2, pad: "valid" },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: "valid" },
  { x: [2, 11, 9, 4], filter: [1, 1, 4, 3], strides: 2, pad: "valid" },
  { x: [2, 11, 9, 4], filter: [1, 1, 4, 3], strides: 1, pad: "same" },
  { x: [2, 8, 8, 3], filter: [2, 2, 3, 4], strides: 2, pad: "same" },
  { x: [2, 7, 8, 3], filter: [2, 2, 3, 4], strides: 2, pad: "valid" },
  { x: [2, 8, 8, 3], filter: [4, 4, 3, 2], strides: 2, pad: "same" },
  { x: [2, 9, 7, 3], filter: [4, 4, 3, 2], strides: 2, pad: "valid" },
  { x: [2, 9, 8, 3], filter: [3, 3, 3, 4], strides: [2, 1], pad: "same" },
  { x: [2, 6, 9, 3], filter: [2, 3, 3, 2], strides: [1, 3], pad: "same" },
  { x: [2, 10, 10, 2], filter: [2, 2, 2, 3], strides: 3, pad: "valid" },
  { x: [1, 5, 6, 2], filter: [5, 5, 2, 3], strides: 1, pad: "valid" },
  { x: [2, 9, 8, 3], filter: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [2, 6, 6, 2], filter: [3, 3, 2, 2], strides: 1, pad: [[0, 0], [4, 0], [0, 3], [0, 0]] },
  // oh*ow*n = 512: the filter gradient pads dy with zero taps (see unalignedTapPadding).
  { x: [2, 16, 16, 3], filter: [3, 3, 3, 2], strides: 1, pad: "same" },
  { x: [2, 32, 31, 2], filter: [3, 3, 2, 2], strides: 2, pad: "same" },
  // Multiples of 4 input and 8 output channels: the SIMD filter gradient without padded copies.
  { x: [2, 9, 7, 4], filter: [3, 3, 4, 8], strides: 1, pad: "same" },
  { x: [3, 9, 7, 8], filter: [3, 3, 8, 16], strides: 2, pad: "same" },
  { x: [2, 8, 10, 4], filter: [3, 3, 4, 8], strides: 2, pad: "same" },
  { x: [2, 9, 9, 4], filter: [3, 2, 4, 8], strides: 2, pad: "valid" },
  { x: [2, 7, 8, 8], filter: [2, 2, 8, 8], strides: 2, pad: "valid" },
  { x: [2, 9, 8, 4], filter: [3, 3, 4, 8], strides: [2, 1], pad: "same" },
  { x: [2, 9, 8, 4], filter: [3, 3, 4, 8], strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 5, 6, 4], filter: [5, 5, 4, 8], strides: 1, pad: "valid" },
  { x: [2, 6, 6, 4], filter: [3, 3, 4, 8], strides: 1, pad: [[0, 0], [4, 0], [0, 3], [0, 0]] },
  // 1-3 output channels: the SIMD kernel splats dY and loads X as vectors (less padding).
  { x: [2, 9, 7, 16], filter: [3, 3, 16, 2], strides: 1, pad: "same" },
  { x: [3, 8, 8, 8], filter: [3, 3, 8, 1], strides: 2, pad: "same" },
  { x: [2, 9, 9, 12], filter: [3, 3, 12, 3], strides: 2, pad: "valid" },
  // Rows of 40*(32+12)*4 bytes: the kernel sums the 40 rows in several cache-sized bands.
  { x: [1, 40, 40, 12], filter: [3, 3, 12, 32], strides: 1, pad: "same" },
];

const TRANSPOSE_CASES: TransposeCase[] = [
  { x: [2, 4, 5, 3], filter: [4, 4, 2, 3], outShape: [2, 8, 10, 2], strides: 2, pad: "same" },
  { x: [2, 4, 4, 3], filter: [2, 2, 2, 3], outShape: [2, 8, 8, 2], strides: 2, pad: "valid" },
  { x: [2, 4, 5, 3], filter: [3, 3, 4, 3], outShape: [2, 7, 9, 4], strides: 2, pad: "same" },
  { x: [3, 5, 4, 2], filter: [3, 3, 3, 2], outShape: [3, 5, 4, 3], strides: 1, pad: "same" },
  { x: [2, 3, 3, 2], filter: [3, 3, 2, 2], outShape: [2, 7, 7, 2], strides: 2, pad: "valid" },
];

function describe(c: object): string {
  return JSON.stringify(c);
}

Deno.test("planAxis splits a strided transposed conv into stride-1 phases", () => {
  const p = planAxis(3, 2, 0, 64, 32);
  assertEquals([p.rowsPerPhase, p.shift], [32, 0]);
  // Even rows y = 2u read dy[u-1] with tap 2, then dy[u] with tap 0.
  assertEquals(p.phases[0], { taps: [2, 0], padBefore: 1, padAfter: 0 });
  assertEquals(p.phases[1], { taps: [1], padBefore: 0, padAfter: 0 });
  // A 4x4 stride-2 'same' upsampler: even rows use taps {3, 1}, odd rows taps {2, 0}.
  const up = planAxis(4, 2, 1, 64, 32);
  assertEquals(up.phases[0], { taps: [3, 1], padBefore: 1, padAfter: 0 });
  assertEquals(up.phases[1], { taps: [2, 0], padBefore: 0, padAfter: 1 });
  // Shifted by one row, both phases read dy[u-1] and dy[u]: one conv, then drop row -1.
  const fused = planAxis(4, 2, 1, 64, 32, 1);
  assertEquals([fused.rowsPerPhase, fused.shift], [33, 1]);
  assertEquals(fused.phases[0], { taps: [2, 0], padBefore: 1, padAfter: 1 });
  assertEquals(fused.phases[1], { taps: [3, 1], padBefore: 1, padAfter: 1 });
  // 2 taps, stride 3: row 3u + p takes tap p, and rows 3u + 2 get nothing.
  assertEquals(planAxis(2, 3, 0, 10, 3).phases.map((q) => q.taps), [[0], [1], []]);
  assertThrows(() => planAxis(0, 1, 0, 4, 4), Error, "kernel");
  assertThrows(() => planAxis(4, 2, 1, 64, 32, 2), Error, "shift");
});

Deno.test("unalignedTapPadding breaks power-of-two filter sizes", () => {
  assertEquals(unalignedTapPadding(64, 64, 8), [1, 1]); // 64*65*8 is still 128*260
  assertEquals(unalignedTapPadding(16, 16, 2), [0, 1]);
  assertEquals(unalignedTapPadding(63, 64, 8), [0, 1]);
  assertEquals(unalignedTapPadding(32, 31, 2), [0, 0]);
  assertEquals(unalignedTapPadding(8, 8, 512), [0, 0]); // the batch alone is aligned
});

Deno.test("wasm conv2d output and gradients match the cpu backend", async () => {
  for (const [i, c] of CONV_CASES.entries()) {
    const want = await onBackend("cpu", () => conv2dWithGrads(c, 100 + i));
    const got = await onBackend("wasm", () => conv2dWithGrads(c, 100 + i));
    for (const [j, name] of ["output", "dx", "dfilter"].entries()) {
      assertClose(`${name} of ${describe(c)}`, got[j], want[j]);
    }
  }
});

Deno.test("the direct SIMD filter gradient and the Conv2D route agree", async () => {
  await onBackend("wasm", () => {});
  const backend = tf.backend() as unknown as Parameters<typeof conv2dBackpropFilterSimd>[0];
  const read = (t: tf.TensorInfo) => (backend.readSync(t.dataId) as Float32Array).slice();
  // Whole register blocks (8 -> 16), channels zero-padded to them (3 -> 4, 2 -> 8, 5 -> 8), and
  // dY splatted (16 -> 2, 8 -> 1, 12 -> 3).
  const cases = [21, 2, 4, 17, 29, 30, 31].map((i) => CONV_CASES[i]);
  assertEquals(cases.slice(-3).map((c) => c.filter[3]), [2, 1, 3]);
  for (const c of cases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
    const x = seeded4d(c.x, 1);
    const dy = seeded4d([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 2);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: c.filter };
    const viaConv = conv2dBackpropFilterViaConv2D({ inputs: { x, dy }, backend, attrs });
    const direct = conv2dBackpropFilterSimd(backend, x, dy, {
      ...info,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
    try {
      if (direct === undefined) throw new Error("the SIMD kernel should run on this engine");
      assertEquals(direct.shape, c.filter);
      assertClose(`direct vs Conv2D route, ${describe(c)}`, read(direct), read(viaConv));
    } finally {
      if (direct !== undefined) backend.disposeData(direct.dataId);
      backend.disposeData(viaConv.dataId);
      tf.dispose([x, dy]);
    }
  }
});

Deno.test("wasm conv2dTranspose output and gradients match the cpu backend", async () => {
  for (const [i, c] of TRANSPOSE_CASES.entries()) {
    const want = await onBackend("cpu", () => conv2dTransposeWithGrads(c, 200 + i));
    const got = await onBackend("wasm", () => conv2dTransposeWithGrads(c, 200 + i));
    for (const [j, name] of ["output", "dx", "dfilter"].entries()) {
      assertClose(`${name} of ${describe(c)}`, got[j], want[j]);
    }
  }
});

/** d/dx, d/dfilter, d/dbias of sum(relu(fused conv2d(x, filter) + bias) * g). */
function fusedConv2dGrads(seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = seeded4d([2, 9, 8, 3], seed);
    const filter = seeded4d([3, 3, 3, 4], seed + 1);
    const bias = tf.tensor1d(seededValues(4, seed + 2));
    const g = seeded4d([2, 5, 4, 4], seed + 3);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const y = tf.fused.conv2d({
        x: a as tf.Tensor4D,
        filter: b as tf.Tensor4D,
        strides: 2,
        pad: "same",
        bias: c,
        activation: "relu",
      });
      return tf.sum(tf.mul(y, g));
    };
    return tf.grads(f)([x, filter, bias]).map((t) => t.dataSync() as Float32Array);
  });
}

Deno.test("wasm fused conv2d (bias, relu) gradients match the cpu backend", async () => {
  const want = await onBackend("cpu", () => fusedConv2dGrads(400));
  const got = await onBackend("wasm", () => fusedConv2dGrads(400));
  for (const [j, name] of ["dx", "dfilter", "dbias"].entries()) {
    assertClose(`fused conv2d ${name}`, got[j], want[j]);
  }
});

Deno.test("wasm conv gradient kernels leak no tensors or backend buffers", async () => {
  await onBackend("wasm", () => {});
  const engine = tf.engine();
  const wasIsTest = tf.env().getBool("IS_TEST");
  // IS_TEST makes the engine check every kernel for backend buffers it leaked.
  tf.env().set("IS_TEST", true);
  try {
    const step = () => {
      conv2dWithGrads(CONV_CASES[2], 7);
      conv2dWithGrads(CONV_CASES[21], 10);
      conv2dWithGrads(CONV_CASES[4], 11);
      conv2dTransposeWithGrads(TRANSPOSE_CASES[0], 8);
      conv2dWithGrads(CONV_CASES[12], 9);
    };
    step();
    const tensors = tf.memory().numTensors;
    const buffers = engine.backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    assertEquals(tf.memory().numTensors, tensors);
    assertEquals(engine.backend.numDataIds(), buffers);
  } finally {
    tf.env().set("IS_TEST", wasIsTest);
  }
});

Deno.test("registerWasmConvGradients is idempotent and rejects unsupported attributes", async () => {
  registerWasmConvGradients();
  registerWasmConvGradients();
  await onBackend("wasm", () => {});
  const filterKernel = tf.getKernel("Conv2DBackpropFilter", "wasm");
  assert(filterKernel !== undefined);
  const x = tf.zeros([1, 4, 4, 2]);
  const dy = tf.zeros([1, 4, 4, 3]);
  const filter = tf.zeros([3, 3, 2, 3]);
  try {
    assertThrows(
      () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          strides: 1,
          pad: "same",
          dataFormat: "NCHW",
          filterShape: [3, 3, 2, 3],
        }),
      Error,
      "NHWC",
    );
    assertThrows(
      () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          strides: 1,
          pad: "same",
          dataFormat: "NHWC",
          dilations: 2,
          filterShape: [3, 3, 2, 3],
        }),
      Error,
      "dilations",
    );
    assertThrows(
      () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          strides: 2,
          pad: "same",
          dataFormat: "NHWC",
          filterShape: [3, 3, 2, 3],
        }),
      Error,
      "dy has shape",
    );
    assertThrows(
      () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          strides: 1,
          pad: "same",
          dataFormat: "NHWC",
          filterShape: [3, 3, 5, 3],
        }),
      Error,
      "filterShape",
    );
    assertThrows(
      () =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, {
          strides: 1,
          pad: "same",
          dataFormat: "NCHW",
          inputShape: [1, 4, 4, 2],
        }),
      Error,
      "NHWC",
    );
  } finally {
    tf.dispose([x, dy, filter]);
  }
});

/** Weights of a 4-layer conv encoder-decoder: two stride-2 convs, two 4x4 upsamplers. */
function encoderDecoderWeights(seed: number): tf.Variable[] {
  const shapes: Shape4[] = [[3, 3, 3, 8], [3, 3, 8, 16], [4, 4, 8, 16], [4, 4, 3, 8]];
  return shapes.map((s, i) => {
    const fanIn = s[0] * s[1] * (i < 2 ? s[2] : s[3]);
    return tf.variable(tf.mul(seeded4d(s, seed + i), Math.sqrt(2 / fanIn)));
  });
}

function encoderDecoderLoss(w: tf.Variable[], x: tf.Tensor4D): tf.Scalar {
  const [n, h, wd] = x.shape;
  const e1 = tf.relu(tf.conv2d(x, w[0] as tf.Tensor4D, 2, "same"));
  const e2 = tf.relu(tf.conv2d(e1, w[1] as tf.Tensor4D, 2, "same"));
  const d1 = tf.relu(tf.conv2dTranspose(e2, w[2] as tf.Tensor4D, [n, h / 2, wd / 2, 8], 2, "same"));
  const d2 = tf.conv2dTranspose(d1, w[3] as tf.Tensor4D, [n, h, wd, 3], 2, "same");
  return tf.mean(tf.square(tf.sub(d2, x)));
}

/** Loss of each of two optimizer steps, then the trained weights. */
function trainTwoSteps(seed: number): Float32Array[] {
  const weights = encoderDecoderWeights(seed);
  const optimizer = tf.train.momentum(0.05, 0.9);
  const x = seeded4d([2, 16, 12, 3], seed + 10);
  try {
    const losses = [0, 1].map(() => {
      const loss = optimizer.minimize(() => encoderDecoderLoss(weights, x), true, weights)!;
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    });
    return [Float32Array.from(losses), ...weights.map((w) => w.dataSync() as Float32Array)];
  } finally {
    tf.dispose([x, ...weights]);
    optimizer.dispose();
  }
}

Deno.test("a conv encoder-decoder trains on wasm exactly as on cpu", async () => {
  const want = await onBackend("cpu", () => trainTwoSteps(300));
  const got = await onBackend("wasm", () => trainTwoSteps(300));
  assert(want[0][1] < want[0][0], "the reference step should lower the loss");
  assertClose("losses", got[0], want[0]);
  for (let i = 1; i < want.length; i++) assertClose(`weights ${i - 1}`, got[i], want[i]);
});
