import * as tf from "@tensorflow/tfjs-core";
import { assertEquals, assertThrows } from "@std/assert";
import { addN, MAX_ADD_N_INPUTS } from "../lib/backend/add_n.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

// The chunked sum must not change a single bit on the CPU backends (the trainer's gradient norm
// and with it clipping and every logged number go through it).
for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`addN: bit-identical to tf.addN on ${backend}, any number of tensors`, async () => {
    await selectBackend({ requested: backend, log: false });
    const before = tf.memory().numTensors;
    const rng = mulberry32(3);
    const counts = [1, 2, MAX_ADD_N_INPUTS, MAX_ADD_N_INPUTS + 1, 13, 14, 50, 61];
    for (const count of counts) {
      for (const shape of [[], [5], [3, 257]]) {
        const size = shape.reduce((a, b) => a * b, 1);
        // Magnitudes over 6 decades, so the order of the additions shows in the last bits.
        const terms = Array.from({ length: count }, () =>
          tf.tensor(
            Float32Array.from(
              { length: size },
              () => randomNormal(rng) * 10 ** Math.round(randomNormal(rng) * 2),
            ),
            shape,
          ));
        const expected = tf.addN(terms);
        const actual = addN(terms);
        assertEquals(actual.shape, expected.shape);
        assertEquals(await actual.data(), await expected.data(), `${count} x [${shape}]`);
        tf.dispose([expected, actual, ...terms]);
      }
    }
    assertEquals(tf.memory().numTensors, before);
  });
}

Deno.test("addN: no tensors is an error", () => {
  assertThrows(() => addN([]), Error, "addN of no tensors");
});
