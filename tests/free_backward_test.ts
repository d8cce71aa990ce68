import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { registerWasmSharedIdentity } from "../lib/backend/wasm_identity.ts";
import { createProjector } from "../lib/ccl/projector.ts";
import { installFreeBackward } from "../lib/methods/components/free_backward.ts";
import { recomputeFunction } from "../lib/methods/components/recompute.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();
registerWasmSharedIdentity();

const CHANNELS = [8, 16];

function seeded(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, () => randomNormal(rng)), shape);
}

/**
 * A projector (one scale recomputed in the backward pass, one taped), a custom-gradient loss
 * term and plain ops; the loss, every gradient and the step's peak bytes.
 */
async function step(): Promise<{ numbers: number[][]; peakBytes: number }> {
  const projector = createProjector(CHANNELS, 3, { recomputeMinElements: 1000 });
  const inputs = CHANNELS.map((c, s) => seeded([2, 16 >> s, 16 >> s, c], 61 + s));
  let numbers: number[][] = [];
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        const [a, b] = projector.apply(inputs);
        const term = recomputeFunction((x) => tf.mean(tf.square(tf.sigmoid(x))), [a]);
        return tf.add(term, tf.mean(tf.mul(tf.exp(tf.mul(b, 0.1)), b))) as tf.Scalar;
      }), projector.variables());
    numbers = [
      [...value.dataSync()],
      ...projector.variables().map((v) => [
        ...grads[v.name].dataSync(),
      ]),
    ];
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose(inputs);
  projector.dispose();
  return { numbers, peakBytes: profile.peakBytes };
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`freeing during the backward pass gives bit-equal gradients with a lower peak (${backend})`, async () => {
    await tf.setBackend(backend);
    await tf.ready();
    const before = tf.memory().numTensors;
    const plain = await step();
    const uninstall = installFreeBackward();
    let freed;
    try {
      freed = await step();
    } finally {
      uninstall();
    }
    assertEquals(tf.memory().numTensors, before);
    assertEquals(freed.numbers, plain.numbers);
    assert(
      freed.peakBytes < plain.peakBytes,
      `peak ${freed.peakBytes} B, not below ${plain.peakBytes} B`,
    );
  });
}

Deno.test("freeing during the backward pass leaves a caller's dy alone", async () => {
  await tf.setBackend("cpu");
  const uninstall = installFreeBackward();
  try {
    const x = tf.tensor1d([1, 2, 3]);
    const dy = tf.tensor1d([1, 1, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.exp(tf.mul(v, 2)))(x, dy);
    assertEquals(dy.isDisposed, false);
    const expected = [1, 2, 3].map((v, i) => [1, 1, 2][i] * 2 * Math.exp(2 * v));
    const got = [...g.dataSync()];
    got.forEach((v, i) => assert(Math.abs(v - expected[i]) <= 1e-4 * expected[i]));
    tf.dispose([x, dy, g]);
  } finally {
    uninstall();
  }
});
