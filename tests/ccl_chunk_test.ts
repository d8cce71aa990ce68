/**
 * CCL's memory-saving forms give the results of the plain ones: the whole-map search in blocks
 * of query rows (exactly the matches, losses and gradients of the unchunked search, with a
 * bounded peak), and the projector's fused instance norm + LeakyReLU (the composite's values,
 * its gradients up to rounding, less on the tape); on cpu and wasm.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "../lib/backend/register_gradients.ts";
import { assert, assertAlmostEquals, assertEquals } from "@std/assert";
import { selectBackend } from "../lib/backend/select_backend.ts";
import {
  localContrastiveLoss,
  localLossFromPairs,
  type LocalScaleInputs,
  matchPixels,
  NO_PARTNER,
} from "../lib/ccl/mod.ts";
import { instanceNormLeakyRelu } from "../lib/ccl/instance_norm_act.ts";
import { matchChunkRows } from "../lib/ccl/pixel_matching.ts";
import { instanceNorm } from "../lib/methods/layers.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

const BACKENDS = ["cpu", "wasm"] as const;

function randomValues(length: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length }, () => randomNormal(rng));
}

/** Cosine of query pixel i with key pixel j of the same image, in float64. */
function cosine(q: Float32Array, k: Float32Array, i: number, j: number, c: number): number {
  let dot = 0, nq = 0, nk = 0;
  for (let x = 0; x < c; x++) {
    dot += q[i * c + x] * k[j * c + x];
    nq += q[i * c + x] ** 2;
    nk += k[j * c + x] ** 2;
  }
  return dot / Math.sqrt(nq * nk);
}

async function read(t: tf.Tensor): Promise<Int32Array> {
  const values = await t.data() as Int32Array;
  t.dispose();
  return values;
}

/** The local loss (temperature 0.1) of `pairs` and its gradients for `query` and `key`. */
function lossAndGradients(
  query: tf.Variable,
  key: tf.Variable,
  pairs: Parameters<typeof localLossFromPairs>[2],
  options: Parameters<typeof localLossFromPairs>[4],
) {
  return tf.variableGrads(
    () =>
      localLossFromPairs(
        query as tf.Variable<tf.Rank.R4>,
        key as tf.Variable<tf.Rank.R4>,
        pairs,
        0.1,
        options,
      ),
    [query, key],
  );
}

Deno.test("ccl chunking: block sizes follow the byte bound", () => {
  assertEquals(matchChunkRows(2, 1024, 2 * 1024 * 4 * 10), 10);
  assertEquals(matchChunkRows(2, 1024, 1), 1); // at least one row
  assertEquals(matchChunkRows(2, 1024, 2 ** 40), 1024); // never more than the map
});

for (const backend of BACKENDS) {
  Deno.test(`ccl chunking (${backend}): chunked whole-map matches equal the unchunked ones`, async () => {
    await selectBackend({ requested: backend, log: false });
    const [b, h, w, c] = [3, 7, 9, 5];
    const positions = h * w;
    const qValues = randomValues(b * positions * c, 1);
    const kValues = randomValues(b * positions * c, 2);
    const q = tf.tensor4d(qValues, [b, h, w, c]);
    const k = tf.tensor4d(kValues, [b, h, w, c]);
    const before = tf.memory().numTensors;
    const whole = await read(matchPixels(q, k, 0, { chunkBytes: 2 ** 40 }));
    for (const rows of [1, 4, 10, positions - 1]) {
      const chunked = await read(matchPixels(q, k, 0, { chunkBytes: rows * b * positions * 4 }));
      assertEquals([...chunked], [...whole], `${rows} rows per block`);
    }
    assertEquals(tf.memory().numTensors, before);
    // And they are the best matches (float64 reference, up to float32 rounding).
    for (let image = 0; image < b; image++) {
      for (let i = 0; i < positions; i++) {
        const qi = image * positions + i;
        let best = -Infinity;
        for (let j = 0; j < positions; j++) {
          best = Math.max(
            best,
            cosine(qValues, kValues.subarray(image * positions * c), qi, j, c),
          );
        }
        const got = cosine(qValues, kValues.subarray(image * positions * c), qi, whole[qi], c);
        assert(got >= best - 1e-5, `image ${image} pixel ${i}: ${got} < ${best}`);
      }
    }
    tf.dispose([q, k]);
  });

  Deno.test(`ccl chunking (${backend}): local loss and gradients do not depend on the chunk`, async () => {
    await selectBackend({ requested: backend, log: false });
    const [b, h, w, c] = [4, 6, 6, 8];
    const shape: [number, number, number, number] = [b, h, w, c];
    const size = b * h * w * c;
    const query = tf.variable(tf.tensor4d(randomValues(size, 3), shape));
    const key = tf.variable(tf.tensor4d(randomValues(size, 4), shape));
    const matchingQ = tf.tensor4d(randomValues(size, 5), shape);
    const matchingK = tf.tensor4d(randomValues(size, 6), shape);
    const classIds = Int32Array.from([0, 1, 0, 1]);
    const inputs = (): LocalScaleInputs[] => [{
      query: query as tf.Tensor as tf.Tensor4D,
      key: key as tf.Tensor as tf.Tensor4D,
      queryMatching: matchingQ,
      keyMatching: matchingK,
    }];
    const lossAndGrads = async (chunkBytes: number) => {
      const { value, grads } = tf.variableGrads(
        () =>
          localContrastiveLoss(inputs(), classIds, {
            temperature: 0.05,
            window: 0,
            sameClassPositive: true,
            chunkBytes,
          }, mulberry32(9)),
        [query, key],
      );
      const out = {
        loss: (await value.data())[0],
        query: [...await grads[query.name].data()],
        key: [...await grads[key.name].data()],
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const before = tf.memory().numTensors;
    const unchunked = await lossAndGrads(2 ** 40);
    const chunked = await lossAndGrads(b * h * w * 4); // one query row per block
    assertEquals(chunked, unchunked);
    assert(Number.isFinite(unchunked.loss) && unchunked.loss > 0);
    assertEquals(tf.memory().numTensors, before);
    tf.dispose([query, key, matchingQ, matchingK]);
  });

  Deno.test(`ccl chunking (${backend}): the whole-map peak follows the chunk, not H*W squared`, async () => {
    await selectBackend({ requested: backend, log: false });
    const [b, h, w, c] = [2, 32, 32, 8];
    const positions = h * w;
    const q = tf.tensor4d(randomValues(b * positions * c, 7), [b, h, w, c]);
    const k = tf.tensor4d(randomValues(b * positions * c, 8), [b, h, w, c]);
    const full = b * positions * positions * 4; // 8 MiB: the unchunked similarity
    const chunkBytes = full / 64;
    let matches: tf.Tensor | undefined;
    const profile = await tf.profile(() => {
      matches = matchPixels(q, k, 0, { chunkBytes });
    });
    const inputs = 2 * b * positions * c * 4;
    assert(
      profile.peakBytes - inputs < full / 4,
      `peak ${profile.peakBytes} bytes above the inputs' ${inputs} (unchunked block ${full})`,
    );
    const unchunked = await tf.profile(() => {
      tf.dispose(matchPixels(q, k, 0, { chunkBytes: 2 ** 40 }));
    });
    assert(unchunked.peakBytes - inputs >= full, "the unchunked search holds the whole block");
    tf.dispose([q, k, matches!]);
  });

  Deno.test(`ccl local loss (${backend}): blocks of rows bound the backward pass's peak`, async () => {
    await selectBackend({ requested: backend, log: false });
    const [b, h, w, c] = [2, 16, 16, 64];
    const n = b * h * w;
    const query = tf.variable(tf.tensor4d(randomValues(n * c, 21), [b, h, w, c]));
    const key = tf.variable(tf.tensor4d(randomValues(n * c, 22), [b, h, w, c]));
    const rng = mulberry32(23);
    const pairs = {
      positives: [Int32Array.from({ length: n }, () => Math.floor(rng() * n))],
      negativeImages: Int32Array.from([1, 0]),
    };
    const peak = async (chunkRows: number) => {
      const profile = await tf.profile(() => {
        const { value, grads } = lossAndGradients(query, key, pairs, { chunkRows });
        tf.dispose([value, ...Object.values(grads)]);
      });
      return profile.peakBytes;
    };
    const map = n * c * 4; // one [B*H*W, C] float map: 128 KiB
    const whole = await peak(n);
    const blocks = await peak(32);
    // Inputs, the two normalised maps, the key gradient and the gradients returned are whole
    // maps either way; the unchunked pass holds many more.
    assert(whole - blocks > 4 * map, `peak ${blocks} bytes in blocks vs ${whole} at once`);
    tf.dispose([query, key]);
  });

  Deno.test(`ccl projector (${backend}): fused instance norm + LeakyReLU = composite`, async () => {
    await selectBackend({ requested: backend, log: false });
    const shape: [number, number, number, number] = [2, 5, 6, 3];
    const x = tf.tensor4d(randomValues(2 * 5 * 6 * 3, 11), shape);
    const weights = tf.tensor4d(randomValues(2 * 5 * 6 * 3, 12), shape);
    for (const slope of [0.01, 0.2, 0]) {
      const composite = (t: tf.Tensor4D) =>
        tf.tidy(() => tf.leakyRelu(instanceNorm(t, 1e-5), slope));
      const fused = (t: tf.Tensor4D) => instanceNormLeakyRelu(t, 1e-5, slope);
      const before = tf.memory().numTensors;
      const [a, b] = [composite(x), fused(x)];
      assertEquals([...await b.data()], [...await a.data()], `values, slope ${slope}`);
      // A weighted sum makes every output's gradient different.
      const grad = (f: (t: tf.Tensor4D) => tf.Tensor) =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), weights)))(x);
      const [ga, gb] = [grad(composite), grad(fused)];
      const [va, vb] = [await ga.data(), await gb.data()];
      va.forEach((value, i) => assertAlmostEquals(vb[i], value, 1e-4, `gradient ${i}`));
      tf.dispose([a, b, ga, gb]);
      assertEquals(tf.memory().numTensors, before);
    }
    // Less is kept for the backward pass: the profile of a gradient shows a lower peak.
    const big = tf.randomNormal([4, 32, 32, 16]) as tf.Tensor4D;
    const peak = async (f: (t: tf.Tensor4D) => tf.Tensor) =>
      (await tf.profile(() => {
        tf.dispose(tf.grad((t: tf.Tensor) => tf.sum(f(t as tf.Tensor4D)))(big));
      })).peakBytes;
    const fusedPeak = await peak((t) => instanceNormLeakyRelu(t, 1e-5, 0.01));
    const compositePeak = await peak((t) => tf.leakyRelu(instanceNorm(t, 1e-5), 0.01));
    assert(fusedPeak < compositePeak, `fused ${fusedPeak} vs composite ${compositePeak} bytes`);
    tf.dispose([x, weights, big]);
  });

  Deno.test(`ccl local loss (${backend}): the fused gradient equals autodiff's`, async () => {
    await selectBackend({ requested: backend, log: false });
    const [b, h, w, c] = [3, 3, 4, 5];
    const shape: [number, number, number, number] = [b, h, w, c];
    const n = b * h * w;
    const keyValues = randomValues(n * c, 14);
    keyValues.fill(0, 0, c); // a zero key vector: the normalisation's floor
    const query = tf.variable(tf.tensor4d(randomValues(n * c, 13), shape));
    const key = tf.variable(tf.tensor4d(keyValues, shape));
    const rng = mulberry32(15);
    const first = Int32Array.from({ length: n }, () => Math.floor(rng() * n));
    const second = Int32Array.from(
      { length: n },
      (_, i) => (i % 3 === 0 ? NO_PARTNER : Math.floor(rng() * n)),
    );
    const pairs = {
      positives: [first, tf.tensor1d(second, "int32")],
      negativeImages: Int32Array.from([2, NO_PARTNER, 0]),
    };
    const run = async (gradient: "fused" | "autodiff", chunkRows?: number) => {
      const { value, grads } = lossAndGradients(query, key, pairs, { gradient, chunkRows });
      const out = {
        loss: (await value.data())[0],
        query: await grads[query.name].data(),
        key: await grads[key.name].data(),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const before = tf.memory().numTensors;
    const fused = await run("fused");
    const autodiff = await run("autodiff");
    assertEquals(fused.loss, autodiff.loss);
    // Blocks of query rows (what large maps use): 36 rows in blocks of 5 (the last one short),
    // and one block of all rows, which is the unchunked computation itself.
    const chunked = await run("fused", 5);
    const oneBlock = await run("fused", n);
    assertAlmostEquals(chunked.loss, autodiff.loss, 1e-6 * Math.abs(autodiff.loss));
    assertEquals(oneBlock, fused);
    for (const name of ["query", "key"] as const) {
      const scale = Math.max(...autodiff[name].map(Math.abs));
      assert(scale > 0);
      autodiff[name].forEach((value, i) => {
        assertAlmostEquals(fused[name][i], value, 1e-5 * scale, `${name} gradient ${i}`);
        assertAlmostEquals(chunked[name][i], value, 1e-5 * scale, `${name} gradient ${i}, chunked`);
      });
    }
    assertEquals(tf.memory().numTensors, before);
    tf.dispose([query, key, pairs.positives[1] as tf.Tensor]);
  });
}
