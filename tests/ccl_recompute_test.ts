import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "../lib/backend/register_gradients.ts";
import { assert, assertEquals } from "@std/assert";
import { registerWasmConvGradients } from "../lib/backend/wasm_conv_grads.ts";
import { registerWasmSharedIdentity } from "../lib/backend/wasm_identity.ts";
import { createProjector } from "../lib/ccl/projector.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

registerWasmConvGradients();
registerWasmSharedIdentity();

const CHANNELS = [8, 16, 32];

function seeded(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, () => randomNormal(rng)), shape);
}

/**
 * Both views through the projector and a loss that couples them (as local CL does, a
 * per-pixel product of the two projections, plus a term on one view alone); every number it
 * produces, by stable name.
 */
async function projectorStep(
  recomputeMinElements: number,
): Promise<{ numbers: Map<string, number[]>; kernels: number }> {
  const projector = createProjector(CHANNELS, 5, { recomputeMinElements });
  const original = CHANNELS.map((c, s) => seeded([2, 12 >> s, 12 >> s, c], 31 + s));
  const augmented = CHANNELS.map((c, s) => seeded([2, 12 >> s, 12 >> s, c], 41 + s));
  const out = new Map<string, number[]>();
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        const a = projector.apply(original);
        const b = projector.apply(augmented);
        const terms = a.map((p, s) => tf.add(tf.mean(tf.mul(p, b[s])), tf.mean(tf.square(p))));
        return tf.addN(terms) as tf.Scalar;
      }), projector.variables());
    out.set("loss", [...value.dataSync()]);
    for (const [name, variable] of projector.namedVariables()) {
      out.set(`grad:${name}`, [...grads[variable.name].dataSync()]);
    }
    tf.dispose([value, ...Object.values(grads)]);
  });
  tf.dispose([...original, ...augmented]);
  projector.dispose();
  return { numbers: out, kernels: profile.kernels.length };
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`CCL projector recomputed in the backward pass gives the same loss and gradients (${backend})`, async () => {
    await tf.setBackend(backend);
    await tf.ready();
    const before = tf.memory().numTensors;
    const tapedRun = await projectorStep(Infinity);
    const recomputedRun = await projectorStep(0);
    assertEquals(tf.memory().numTensors, before);
    // The recomputation really ran: each scale's projector forward runs again in the backward.
    assert(recomputedRun.kernels > tapedRun.kernels);
    const taped = tapedRun.numbers, recomputed = recomputedRun.numbers;
    assertEquals([...recomputed.keys()], [...taped.keys()]);
    assertEquals(taped.size, 1 + 4 * CHANNELS.length);
    assertEquals(recomputed.get("loss"), taped.get("loss"));
    // Gradients: the recomputed pass hands each scale's output gradient to its own tape,
    // so sums over the two views are associated differently: equal to float32 rounding.
    for (const [name, values] of taped) {
      if (name === "loss") continue;
      const other = recomputed.get(name)!;
      const scale = Math.max(...values.map(Math.abs));
      assert(scale > 0, `${name}: zero gradient, the test checks nothing`);
      const worst = Math.max(...values.map((v, i) => Math.abs(v - other[i])));
      assert(worst <= 1e-5 * scale, `${name}: differs by ${worst} (scale ${scale})`);
    }
  });
}

Deno.test("CCL projector recomputation leaves inference untouched and below the threshold changes nothing", async () => {
  await tf.setBackend("wasm");
  await tf.ready();
  const before = tf.memory().numTensors;
  const features = CHANNELS.map((c, s) => seeded([1, 8 >> s, 8 >> s, c], 51 + s));
  const outputs = [0, Infinity].map((threshold) => {
    const projector = createProjector(CHANNELS, 9, { recomputeMinElements: threshold });
    const tensors = projector.apply(features);
    const projected = tensors.map((t) => [...t.dataSync()]);
    tf.dispose(tensors);
    projector.dispose();
    return projected;
  });
  assertEquals(outputs[0], outputs[1]);
  tf.dispose(features);
  assertEquals(tf.memory().numTensors, before);
});
