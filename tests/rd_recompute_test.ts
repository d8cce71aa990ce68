import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { registerWasmSharedIdentity } from "../lib/backend/wasm_identity.ts";
import { VariableStore } from "../lib/methods/layers.ts";
import { RD_DEFAULTS, type RDConfig } from "../lib/methods/rd/config.ts";
import { applyDecoder, applyOCBE, createDecoder, createOCBE } from "../lib/methods/rd/model.ts";
import { flatCosineDistance, rdLoss } from "../lib/methods/rd/loss.ts";
import { recomputeFunction } from "../lib/methods/components/recompute.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();
registerWasmSharedIdentity();

const CHANNELS = [8, 16, 32];
const CONFIG: RDConfig = {
  ...RD_DEFAULTS,
  blockType: "bottleneck",
  widthFactor: 2,
  bottleneckBlocks: 2,
  decoderBlocks: [1, 2, 2],
};

function seeded(shape: number[], seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, () => randomNormal(rng)), [
    shape[0],
    shape[1],
    shape[2],
    shape[3],
  ]);
}

/** One RD training forward + backward; every number it produces, by stable name. */
function rdStep(recomputeMinElements: number): Map<string, number[]> {
  const store = new VariableStore("rd", 7);
  const ocbe = createOCBE(store, CHANNELS, CONFIG);
  const decoder = createDecoder(store, CHANNELS, CONFIG);
  const features = CHANNELS.map((c, s) => seeded([2, 16 >> s, 16 >> s, c], 11 + s));
  const variables = store.trainableVariables();
  const { value, grads } = tf.variableGrads(() => {
    const embedding = applyOCBE(ocbe, features, true, recomputeMinElements);
    const reconstruction = applyDecoder(decoder, embedding, true, recomputeMinElements);
    return rdLoss(features, reconstruction);
  }, variables);
  const out = new Map<string, number[]>([["loss", [...value.dataSync()]]]);
  for (const [name, variable] of store.named()) {
    out.set(name, [...variable.dataSync()]);
    const grad = grads[variable.name];
    if (grad) out.set(`grad:${name}`, [...grad.dataSync()]);
  }
  tf.dispose([value, ...Object.values(grads), ...features]);
  store.dispose();
  return out;
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`RD blocks recomputed in the backward pass give the same loss, gradients and running statistics (${backend})`, async () => {
    await tf.setBackend(backend);
    await tf.ready();
    const before = tf.memory().numTensors;
    const taped = rdStep(Infinity);
    const recomputed = rdStep(0);
    assertEquals(tf.memory().numTensors, before);
    // Loss, weights and running statistics (updated once, not twice) bit for bit. Gradients:
    // where a tensor's gradient sums three or more terms across a block boundary (a stage
    // output feeds the loss, the next block's main path and its shortcut), the sum is
    // associated differently, so those agree to float32 rounding, not bit for bit.
    assertEquals([...recomputed.keys()], [...taped.keys()]);
    for (const [name, values] of taped) {
      const other = recomputed.get(name)!;
      if (!name.startsWith("grad:")) {
        assertEquals(other, values, name);
        continue;
      }
      const scale = Math.max(...values.map(Math.abs));
      const worst = Math.max(...values.map((v, i) => Math.abs(v - other[i])));
      assert(worst <= 1e-5 * scale, `${name}: differs by ${worst} (scale ${scale})`);
    }
  });
}

Deno.test("the RD cosine distance recomputed in the backward pass gives the same value and gradients", async () => {
  await tf.setBackend("wasm");
  await tf.ready();
  const before = tf.memory().numTensors;
  const e = seeded([2, 6, 6, 5], 21);
  const d = seeded([2, 6, 6, 5], 22);
  const loss = (recompute: boolean) => (a: tf.Tensor, b: tf.Tensor) =>
    tf.mean(
      recompute
        ? recomputeFunction((x, y) => flatCosineDistance(x as tf.Tensor4D, y as tf.Tensor4D), [
          a,
          b,
        ])
        : flatCosineDistance(a as tf.Tensor4D, b as tf.Tensor4D),
    ) as tf.Scalar;
  const plain = tf.valueAndGrads(loss(false))([e, d]);
  const recomputed = tf.valueAndGrads(loss(true))([e, d]);
  assertEquals([...recomputed.value.dataSync()], [...plain.value.dataSync()]);
  for (const i of [0, 1]) {
    assertEquals([...recomputed.grads[i].dataSync()], [...plain.grads[i].dataSync()]);
  }
  tf.dispose([e, d, plain.value, recomputed.value, ...plain.grads, ...recomputed.grads]);
  assertEquals(tf.memory().numTensors, before);
});
