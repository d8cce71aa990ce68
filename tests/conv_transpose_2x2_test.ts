import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { convTranspose2x2 } from "../lib/backend/conv_transpose_2x2.ts";
import {
  applyConvTranspose2x2,
  createConvTranspose2x2,
  VariableStore,
} from "../lib/methods/layers.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();

type Shape4 = [number, number, number, number];

function seeded4d(shape: Shape4, seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b);
  return tf.tensor4d(Float32Array.from({ length: size }, () => randomNormal(rng)), shape);
}

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  await tf.setBackend(name);
  await tf.ready();
  return f();
}

/** Asserts |a - b| <= 1e-4 * max|b| (+ a tiny floor) elementwise, naming the offender. */
function assertClose(what: string, actual: Float32Array, expected: Float32Array): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  assert(scale > 0, `${what}: expected values are all zero, the test would prove nothing`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= 1e-4 * scale + 1e-6)) {
      throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

type Op = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/** The reference: TF.js's own conv2dTranspose with the weight as [2, 2, out, in]. */
const reference: Op = (x, w) => {
  const [b, h, wd] = x.shape;
  const filter = tf.transpose(w, [1, 2, 3, 0]) as tf.Tensor4D;
  return tf.conv2dTranspose(x, filter, [b, 2 * h, 2 * wd, w.shape[3]], 2, "valid");
};

/** Output, d/dx and d/dweight of sum(op(x, w) * g) for seeded x, w and g. */
function withGrads(op: Op, x: Shape4, out: number, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const xs = seeded4d(x, seed);
    const w = seeded4d([x[3], 2, 2, out], seed + 1);
    const g = seeded4d([x[0], 2 * x[1], 2 * x[2], out], seed + 2);
    const y = op(xs, w);
    const [dx, dw] = tf.grads((a, b) => tf.sum(tf.mul(op(a as tf.Tensor4D, b as tf.Tensor4D), g)))(
      [xs, w],
    );
    return [y, dx, dw].map((t) => (t.dataSync() as Float32Array).slice());
  });
}

// [x shape, out channels]: even and odd sizes, batch > 1; in % 8 and out % 4 zero or not (the
// filter gradient's SIMD kernel or its Conv2D route on wasm).
const CASES: [Shape4, number][] = [
  [[2, 3, 4, 8], 4],
  [[3, 5, 4, 16], 8],
  [[1, 4, 4, 8], 12],
  [[2, 5, 3, 3], 5],
  [[2, 1, 1, 4], 2],
];

Deno.test("convTranspose2x2 equals conv2dTranspose, values and gradients, on cpu", async () => {
  for (const [i, [x, out]] of CASES.entries()) {
    const [got, want] = await onBackend("cpu", () => [
      withGrads(convTranspose2x2, x, out, 10 + i),
      withGrads(reference, x, out, 10 + i),
    ]);
    for (const [j, name] of ["y", "dx", "dw"].entries()) {
      assertClose(`${name} of [${x}] -> ${out}`, got[j], want[j]);
    }
  }
});

Deno.test("convTranspose2x2 on wasm matches cpu, values and gradients", async () => {
  for (const [i, [x, out]] of CASES.entries()) {
    const want = await onBackend("cpu", () => withGrads(reference, x, out, 20 + i));
    const got = await onBackend("wasm", () => withGrads(convTranspose2x2, x, out, 20 + i));
    for (const [j, name] of ["y", "dx", "dw"].entries()) {
      assertClose(`wasm ${name} of [${x}] -> ${out}`, got[j], want[j]);
    }
  }
});

Deno.test("the 2x2 transposed conv layer (with bias) trains alike on wasm and cpu", async () => {
  const grads = () => {
    const store = new VariableStore("", 3);
    const layer = createConvTranspose2x2(store, "up", {
      inChannels: 8,
      outChannels: 4,
      bias: true,
    });
    try {
      return tf.tidy(() => {
        const x = seeded4d([2, 3, 5, 8], 4);
        const g = seeded4d([2, 6, 10, 4], 5);
        const { grads } = tf.variableGrads(() =>
          tf.sum(tf.mul(applyConvTranspose2x2(layer, x), g)) as tf.Scalar
        );
        const names = [...store.named().entries()].map(([name, v]) => [name, v.name]);
        return names.map(([, id]) => (grads[id].dataSync() as Float32Array).slice());
      });
    } finally {
      store.dispose();
    }
  };
  const want = await onBackend("cpu", grads);
  const got = await onBackend("wasm", grads);
  assertEquals(got.length, 2);
  for (let i = 0; i < want.length; i++) assertClose(`variable ${i}`, got[i], want[i]);
});

Deno.test("convTranspose2x2 leaks no tensors and rejects bad shapes", async () => {
  await onBackend("wasm", () => {});
  withGrads(convTranspose2x2, [2, 3, 4, 8], 4, 1);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) withGrads(convTranspose2x2, [2, 3, 4, 8], 4, 1);
  assertEquals(tf.memory().numTensors, before);
  tf.tidy(() => {
    assertThrows(
      () => convTranspose2x2(tf.zeros([1, 2, 2, 3]), tf.zeros([4, 2, 2, 5])),
      Error,
      "3 channels",
    );
    assertThrows(
      () => convTranspose2x2(tf.zeros([1, 2, 2, 3]), tf.zeros([3, 3, 3, 5])),
      Error,
      "[in, 2, 2, out]",
    );
  });
});
