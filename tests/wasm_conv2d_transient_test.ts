import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { registerWasmTransientConv2d } from "../lib/backend/wasm_conv2d_transient.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();
registerWasmTransientConv2d();

function values(size: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: size }, () => randomNormal(rng));
}

/** conv2d of a seeded input with a seeded filter held as a trainable variable or a tensor. */
function convWith(asVariable: boolean): { y: number[]; dw?: number[]; dx?: number[] } {
  const x = tf.tensor4d(values(2 * 9 * 9 * 5, 1), [2, 9, 9, 5]);
  const filterValues = tf.tensor4d(values(3 * 3 * 5 * 6, 2), [3, 3, 5, 6]);
  const f = (input: tf.Tensor4D, filter: tf.Tensor4D) =>
    tf.conv2d(input, filter, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  if (!asVariable) {
    const y = f(x, filterValues);
    const out = { y: [...y.dataSync()] };
    tf.dispose([x, filterValues, y]);
    return out;
  }
  const w = tf.variable(filterValues);
  filterValues.dispose();
  const y = f(x, w as tf.Tensor4D);
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.square(f(x, w as tf.Tensor4D))) as tf.Scalar,
    [
      w,
    ],
  );
  const out = { y: [...y.dataSync()], dw: [...grads[w.name].dataSync()] };
  tf.dispose([x, w, y, value, ...Object.values(grads)]);
  return out;
}

Deno.test("wasm transient Conv2D: a trainable filter gives the stock kernel's values, no leak, and cpu's gradients", async () => {
  await tf.setBackend("cpu");
  const cpu = convWith(true);
  await tf.setBackend("wasm");
  await tf.ready();
  const before = tf.memory().numTensors;
  const stock = convWith(false);
  const transient = convWith(true);
  const again = convWith(true);
  assertEquals(tf.memory().numTensors, before);
  assertEquals(transient.y, stock.y);
  assertEquals(again, transient);
  for (const key of ["y", "dw"] as const) {
    const worst = Math.max(...cpu[key]!.map((v, i) => Math.abs(v - transient[key]![i])));
    assert(worst < 1e-4, `${key} differs from cpu by ${worst}`);
  }
});
