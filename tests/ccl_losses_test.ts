import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// Registers TF.js's gradient functions (tfjs-core alone has none).
import "../lib/backend/register_gradients.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import {
  classIdsFromNames,
  classIdsFromPseudoLabels,
  classIndexFromNames,
  createProjector,
  DEFAULT_CCL_CONFIG,
  drawLocalPairs,
  gatherRows,
  localContrastiveLoss,
  localLossFromPairs,
  matchPixels,
  maybeAddFeatureNoise,
  NO_PARTNER,
  parsePseudoLabels,
  pickDifferentClass,
  pickSameClass,
  projectorWidths,
  readPseudoLabels,
  resolveCCLConfig,
  supConLoss,
  windowOffsets,
} from "../lib/ccl/mod.ts";
import { DatasetError } from "../lib/data/errors.ts";
import { mulberry32 } from "../lib/util/random.ts";

await tf.setBackend("cpu");
await tf.ready();

/** [B, H, W, C] map whose every pixel of image b is `vectors[b]`. */
function constantMaps(vectors: number[][], height: number, width: number): tf.Tensor4D {
  const channels = vectors[0].length;
  const values: number[] = [];
  for (const vector of vectors) {
    for (let p = 0; p < height * width; p++) values.push(...vector);
  }
  return tf.tensor4d(values, [vectors.length, height, width, channels]);
}

/** Seeded random [H, W, C] values, as nested arrays [y][x][c]. */
function randomMap(height: number, width: number, channels: number, seed: number): number[][][] {
  const rng = mulberry32(seed);
  return Array.from(
    { length: height },
    () =>
      Array.from({ length: width }, () => Array.from({ length: channels }, () => rng() * 2 - 1)),
  );
}

/** Reads back (and frees) an index tensor, or copies plain indices. */
async function readRows(rows: Int32Array | tf.Tensor1D): Promise<Int32Array> {
  if (rows instanceof Int32Array) return rows;
  const values = await rows.data() as Int32Array;
  rows.dispose();
  return values;
}

/** `matchPixels` read back as numbers. */
function matchIndices(q: tf.Tensor4D, k: tf.Tensor4D, window: number): Promise<Int32Array> {
  return readRows(matchPixels(q, k, window));
}

function toTensor(maps: number[][][][]): tf.Tensor4D {
  return tf.tensor4d(maps as unknown as number[][][][]);
}

/** -log(e^(pos/T) / (e^(pos/T) + e^(neg/T))), written out. */
function binaryInfoNce(pos: number, neg: number, temperature: number): number {
  return -Math.log(
    Math.exp(pos / temperature) / (Math.exp(pos / temperature) + Math.exp(neg / temperature)),
  );
}

Deno.test("local loss: identical views, orthogonal negative -> -log(e^(1/T) / (e^(1/T) + e^0))", () => {
  // Image 0 (class 0) is (1, 0) everywhere, image 1 (class 1) is (0, 1) everywhere. Each pixel's
  // positive is itself in the identical augmented view (cos 1); its negative is the same pixel of
  // the other image (cos 0). Per pixel: -log(e^(1/T) / (e^(1/T) + e^0)) = log(1 + e^(-1/T)).
  const features = constantMaps([[1, 0], [0, 1]], 2, 3);
  for (const temperature of [0.5, 1, 0.05]) {
    const expected = Math.log(1 + Math.exp(-1 / temperature));
    assertAlmostEquals(expected, binaryInfoNce(1, 0, temperature), 1e-12);
    for (const window of [3, 0]) {
      const loss = localContrastiveLoss(
        [{ query: features, key: features, queryMatching: features, keyMatching: features }],
        Int32Array.from([0, 1]),
        { temperature, window, sameClassPositive: false },
        mulberry32(3),
      );
      assertAlmostEquals(loss.dataSync()[0], expected, 1e-6);
      loss.dispose();
    }
  }
  // T = 0.5 by hand: log(1 + e^-2) = 0.126928...
  assertAlmostEquals(Math.log(1 + Math.exp(-2)), 0.1269280110429725, 1e-12);
  features.dispose();
});

Deno.test("local loss: a non-trivial positive and negative, checked pixel by pixel", () => {
  // One pixel per image, C = 2. Query image 0: (1, 0); key image 0: (cos 60, sin 60) -> pos 0.5.
  // Key image 1: (0, -1)*3 -> normalised (0, -1), so image 0's neg = 0. Query image 1: (0, 2)
  // -> (0, 1); its positive is key image 1 -> -1; its negative key image 0 -> sin 60.
  const query = tf.tensor4d([1, 0, 0, 2], [2, 1, 1, 2]);
  const key = tf.tensor4d([0.5, Math.sqrt(3) / 2, 0, -3], [2, 1, 1, 2]);
  const pairs = { positives: [Int32Array.from([0, 1])], negativeImages: Int32Array.from([1, 0]) };
  const t = 0.5;
  const expected = (binaryInfoNce(0.5, 0, t) + binaryInfoNce(-1, Math.sqrt(3) / 2, t)) / 2;
  const loss = localLossFromPairs(query, key, pairs, t);
  assertAlmostEquals(loss.dataSync()[0], expected, 1e-5);
  tf.dispose([query, key, loss]);
});

Deno.test("local loss: no different-class image in the batch -> 0", () => {
  const features = constantMaps([[1, 0], [0, 1], [1, 1]], 2, 2);
  const loss = localContrastiveLoss(
    [{ query: features, key: features, queryMatching: features, keyMatching: features }],
    Int32Array.from([4, 4, 4]),
    { temperature: 0.05, window: 3, sameClassPositive: true },
    mulberry32(0),
  );
  assertEquals(loss.dataSync()[0], 0);
  // The direct form: an image without a negative contributes 0 per pixel and counts in the mean.
  const half = localLossFromPairs(
    features,
    features,
    {
      positives: [Int32Array.from({ length: 12 }, (_, i) => i)],
      negativeImages: Int32Array.from([1, NO_PARTNER, NO_PARTNER]),
    },
    1,
  );
  assertAlmostEquals(half.dataSync()[0], binaryInfoNce(1, 0, 1) / 3, 1e-6);
  tf.dispose([features, loss, half]);
});

Deno.test("local loss: the same-class positive joins the mean of per-positive terms", async () => {
  // Images 0 and 1 (class 0) are both (1, 0); image 2 (class 1) is (0, 1). Image 0's second
  // positive is image 1 (cos 1), image 2 has none. Every term is log(1 + e^(-1/T)).
  const features = constantMaps([[1, 0], [1, 0], [0, 1]], 2, 2);
  const classIds = Int32Array.from([0, 0, 1]);
  const options = { temperature: 0.5, window: 3, sameClassPositive: true };
  const inputs = { query: features, key: features, queryMatching: features, keyMatching: features };
  const pairs = drawLocalPairs(inputs, classIds, options, mulberry32(5));
  assertEquals(pairs.positives.length, 2);
  const partnerRows = await readRows(pairs.positives[1]);
  tf.dispose(pairs.positives);
  assertEquals([...partnerRows.slice(0, 4)], [4, 5, 6, 7]); // image 0 -> image 1, same pixel
  assertEquals([...partnerRows.slice(4, 8)], [0, 1, 2, 3]); // image 1 -> image 0
  assertEquals([...partnerRows.slice(8)], [-1, -1, -1, -1]); // image 2: no partner
  assertEquals(pairs.negativeImages[0], 2);
  assertEquals(pairs.negativeImages[1], 2);
  assert(pairs.negativeImages[2] === 0 || pairs.negativeImages[2] === 1);
  const loss = localContrastiveLoss([inputs], classIds, options, mulberry32(5));
  assertAlmostEquals(loss.dataSync()[0], Math.log(1 + Math.exp(-2)), 1e-6);
  // A second positive that is orthogonal (cos 0) raises the loss of images 0 and 1.
  const key = constantMaps([[1, 0], [0, 1], [0, 1]], 2, 2);
  const mixed = localLossFromPairs(features, key, {
    positives: [Int32Array.from({ length: 12 }, (_, i) => i), partnerRows],
    negativeImages: Int32Array.from([2, 2, 0]),
  }, 0.5);
  // Image 0: pos 1 & 0 vs neg 0; image 1: positive is its own key (0, 1) -> 0, partner image 0
  // -> 1, neg 0; image 2: pos 1 (own key), neg (0,1).(1,0) = 0.
  const expected = (2 * (binaryInfoNce(1, 0, 0.5) + binaryInfoNce(0, 0, 0.5)) / 2 +
    binaryInfoNce(1, 0, 0.5)) / 3;
  assertAlmostEquals(mixed.dataSync()[0], expected, 1e-6);
  tf.dispose([features, key, loss, mixed]);
});

Deno.test("pixel matching: a 3x3 window finds the shifted pixel", async () => {
  // key(y, x) = query(y - 1, x + 1): pixel (y, x) of the query sits at (y + 1, x - 1) in the key.
  const h = 5, w = 6, c = 8;
  const query = randomMap(h, w, c, 11);
  const filler = randomMap(h, w, c, 12);
  const key = Array.from(
    { length: h },
    (_, y) =>
      Array.from({ length: w }, (_, x) => {
        const sy = y - 1, sx = x + 1;
        return sy >= 0 && sx < w ? query[sy][sx] : filler[y][x];
      }),
  );
  const q = toTensor([query]), k = toTensor([key]);
  const matches = await matchIndices(q, k, 3);
  let checked = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y + 1 < h && x - 1 >= 0) {
        assertEquals(matches[y * w + x], (y + 1) * w + (x - 1), `pixel (${y}, ${x})`);
        checked++;
      }
      // Every match stays inside the window and the map.
      const j = matches[y * w + x], jy = Math.floor(j / w), jx = j % w;
      assert(Math.abs(jy - y) <= 1 && Math.abs(jx - x) <= 1);
    }
  }
  assertEquals(checked, (h - 1) * (w - 1));
  // The same key with window 0 finds the same correspondences.
  const whole = await matchIndices(q, k, 0);
  for (let y = 0; y + 1 < h; y++) {
    for (let x = 1; x < w; x++) assertEquals(whole[y * w + x], (y + 1) * w + (x - 1));
  }
  tf.dispose([q, k]);
});

Deno.test("pixel matching: window 0 searches the whole map, a window does not", async () => {
  // The key is a random permutation of the query's pixels, so each pixel's match may be far.
  const h = 4, w = 4, c = 6, positions = h * w;
  const query = randomMap(h, w, c, 21).flat();
  const permutation = Array.from({ length: positions }, (_, i) => i);
  const rng = mulberry32(22);
  for (let i = positions - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [permutation[i], permutation[j]] = [permutation[j], permutation[i]];
  }
  // key[permutation[i]] = query[i]
  const key = new Array<number[]>(positions);
  permutation.forEach((target, i) => (key[target] = query[i]));
  const q = tf.tensor4d(query.flat(), [1, h, w, c]);
  const k = tf.tensor4d(key.flat(), [1, h, w, c]);
  assertEquals([...await matchIndices(q, k, 0)], permutation);
  const windowed = await matchIndices(q, k, 3);
  const far = permutation.filter((target, i) =>
    Math.abs(Math.floor(target / w) - Math.floor(i / w)) > 1 || Math.abs((target % w) - (i % w)) > 1
  );
  assert(far.length > 0, "the permutation moves some pixel outside its window");
  windowed.forEach((j, i) => {
    assert(
      Math.abs(Math.floor(j / w) - Math.floor(i / w)) <= 1 && Math.abs((j % w) - (i % w)) <= 1,
    );
  });
  tf.dispose([q, k]);
});

Deno.test("pixel matching: batches are matched image by image; ties go to the same position", async () => {
  const maps = constantMaps([[1, 2], [3, -1]], 3, 3);
  assertEquals([...await matchIndices(maps, maps, 3)], [...Array(9).keys(), ...Array(9).keys()]);
  assertEquals(windowOffsets(3)[0], [0, 0]);
  assertEquals(windowOffsets(5).length, 25);
  assertThrows(() => windowOffsets(2), RangeError);
  assertThrows(() => matchPixels(maps, tf.zeros([2, 3, 2, 2]), 3), RangeError, "same shape");
  maps.dispose();
});

Deno.test("pairing: negatives are always another class, partners the same class", () => {
  const ids = Int32Array.from([0, 1, 1, 2, 0, 1]);
  for (let seed = 0; seed < 20; seed++) {
    const negatives = pickDifferentClass(ids, mulberry32(seed));
    negatives.forEach((n, b) => assertNotEquals(ids[n], ids[b]));
    const partners = pickSameClass(ids, mulberry32(seed));
    partners.forEach((p, b) => {
      if (b === 3) assertEquals(p, NO_PARTNER);
      else {
        assertNotEquals(p, b);
        assertEquals(ids[p], ids[b]);
      }
    });
  }
  assertEquals([...pickDifferentClass(Int32Array.from([2, 2]), mulberry32(0))], [-1, -1]);
  assertEquals(
    [...pickDifferentClass(ids, mulberry32(9))],
    [...pickDifferentClass(ids, mulberry32(9))],
  );
});

Deno.test("gatherRows: value and summed gradient match tf.gather", () => {
  const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
  const indices = Int32Array.from([2, 0, 2, 2]);
  const weights = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);
  const ours = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, indices), weights))
  )(x);
  const theirs = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.mul(tf.gather(t, tf.tensor1d(indices, "int32")), weights))
  )(x);
  assertEquals([...ours.dataSync()], [...theirs.dataSync()]);
  assertEquals([...ours.dataSync()], [3, 4, 0, 0, 13, 16]);
  assertEquals([...gatherRows(x, indices).dataSync()], [5, 6, 1, 2, 5, 6, 5, 6]);
  assertThrows(() => gatherRows(x, Int32Array.from([3])), RangeError);
  tf.dispose([x, weights, ours, theirs]);
});

Deno.test("SupCon: two tight clusters, T = 1 -> log(1 + 2/e)", () => {
  // a = b = (1, 0) (class 0), c = d = (0, 1) (class 1). Anchor a: one positive b (sim 1); the
  // denominator runs over b, c, d: e^1 + e^0 + e^0. Loss_a = -log(e / (e + 2)); all four anchors
  // are alike, so L = log((e + 2) / e) = log(1 + 2/e) = 0.551444...
  const z = tf.tensor2d([[1, 0], [1, 0], [0, 1], [0, 1]]);
  const loss = supConLoss(z, Int32Array.from([0, 0, 1, 1]), 1);
  assertAlmostEquals(loss.dataSync()[0], Math.log(1 + 2 / Math.E), 1e-6);
  assertAlmostEquals(Math.log(1 + 2 / Math.E), 0.5514447139320511, 1e-12);
  tf.dispose([z, loss]);
});

Deno.test("SupCon: orthogonal positives, opposite negative, unnormalised inputs", () => {
  // a = (2, 0), b = (0, 3) (class 0); c = (-1, 0), d = (0, -5) (class 1). After normalising,
  // anchor a: positive b (sim 0); denominator b, c, d: e^0 + e^-1 + e^0. Every anchor alike:
  // L = -log(1 / (2 + 1/e)) = log(2 + 1/e) = 0.861995... at T = 1. At T = 0.5 the sims double:
  // L = log(2 + e^-2).
  const z = tf.tensor2d([[2, 0], [0, 3], [-1, 0], [0, -5]]);
  const labels = Int32Array.from([0, 0, 1, 1]);
  const one = supConLoss(z, labels, 1);
  const half = supConLoss(z, labels, 0.5);
  assertAlmostEquals(one.dataSync()[0], Math.log(2 + 1 / Math.E), 1e-6);
  assertAlmostEquals(half.dataSync()[0], Math.log(2 + Math.exp(-2)), 1e-6);
  tf.dispose([z, one, half]);
});

Deno.test("SupCon: anchors without a positive are left out; none at all -> 0", () => {
  // a = b = (1, 0) (class 0), c = (0, 1) alone in class 1: only a and b are anchors, each with
  // -log(e / (e + 1)); L = log(1 + 1/e) = 0.313262...
  const z = tf.tensor2d([[1, 0], [1, 0], [0, 1]]);
  const loss = supConLoss(z, Int32Array.from([0, 0, 1]), 1);
  assertAlmostEquals(loss.dataSync()[0], Math.log(1 + 1 / Math.E), 1e-6);
  const none = supConLoss(z, Int32Array.from([0, 1, 2]), 1);
  assertEquals(none.dataSync()[0], 0);
  assertThrows(() => supConLoss(z, Int32Array.from([0, 1]), 1), RangeError, "labels");
  tf.dispose([z, loss, none]);
});

Deno.test("SupCon: matching labels beat swapped ones; batch order does not matter", () => {
  const rng = mulberry32(4);
  const jitter = () => 0.1 * (rng() - 0.5);
  // Three tight clusters around orthogonal directions, three vectors each.
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let k = 0; k < 3; k++) {
    for (let m = 0; m < 3; m++) {
      rows.push([0, 1, 2].map((d) => (d === k ? 1 : 0) + jitter()));
      labels.push(k);
    }
  }
  const z = tf.tensor2d(rows);
  const matching = supConLoss(z, Int32Array.from(labels), 0.05).dataSync()[0];
  const swapped = supConLoss(z, Int32Array.from(labels, (l) => (l + 1) % 3), 0.05).dataSync()[0];
  const shuffledLabels = Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1, 2]);
  const mismatched = supConLoss(z, shuffledLabels, 0.05).dataSync()[0];
  // Renaming classes changes nothing; mixing them does.
  assertAlmostEquals(swapped, matching, 1e-5);
  assert(matching < mismatched, `${matching} < ${mismatched}`);
  assert(matching < 1.5, `clustered loss ${matching} is near its floor log(2)`);
  // Any permutation of rows with their labels gives the same value.
  const order = [4, 0, 8, 2, 6, 1, 3, 7, 5];
  const permuted = supConLoss(
    tf.tensor2d(order.map((i) => rows[i])),
    Int32Array.from(order.map((i) => labels[i])),
    0.05,
  ).dataSync()[0];
  assertAlmostEquals(permuted, matching, 1e-5);
  z.dispose();
});

Deno.test("SupCon: finite value and gradient at a tiny temperature", () => {
  const z = tf.tensor2d([[1, 0.2], [0.9, -0.1], [-1, 0.3], [0.1, -1]]);
  const labels = Int32Array.from([0, 0, 1, 1]);
  const value = supConLoss(z, labels, 0.005).dataSync()[0];
  assert(Number.isFinite(value), `value ${value}`);
  const grad = tf.grad((x: tf.Tensor) => supConLoss(x as tf.Tensor2D, labels, 0.005))(z);
  assert(grad.dataSync().every(Number.isFinite));
  tf.dispose([z, grad]);
});

Deno.test("projector: C -> C per scale, widths C/2, C/4, C/2, C, seeded", () => {
  assertEquals(projectorWidths(256), [128, 64, 128, 256]);
  assertEquals(projectorWidths(6), [3, 1, 3, 6]);
  assertThrows(() => projectorWidths(3), RangeError);
  const a = createProjector([8, 16, 12], 7);
  const b = createProjector([8, 16, 12], 7);
  const c = createProjector([8, 16, 12], 8);
  const inputs = [
    tf.randomNormal([2, 6, 6, 8], 0, 1, "float32", 1),
    tf.randomNormal([2, 3, 3, 16], 0, 1, "float32", 2),
    tf.randomNormal([2, 2, 2, 12], 0, 1, "float32", 3),
  ] as tf.Tensor4D[];
  const outputs = a.apply(inputs);
  outputs.forEach((output, s) => assertEquals(output.shape, inputs[s].shape));
  assertEquals(a.variables().length, 12);
  assertEquals(a.variables().map((v) => v.shape), [
    [3, 3, 8, 4],
    [3, 3, 4, 2],
    [3, 3, 2, 4],
    [3, 3, 4, 8],
    [3, 3, 16, 8],
    [3, 3, 8, 4],
    [3, 3, 4, 8],
    [3, 3, 8, 16],
    [3, 3, 12, 6],
    [3, 3, 6, 3],
    [3, 3, 3, 6],
    [3, 3, 6, 12],
  ]);
  assertEquals([...a.namedVariables().keys()].slice(0, 2), [
    "ccl.projector.scale0.conv0.weight",
    "ccl.projector.scale0.conv1.weight",
  ]);
  const same = b.apply(inputs);
  const other = c.apply(inputs);
  assertEquals([...outputs[1].dataSync()], [...same[1].dataSync()]);
  assertNotEquals([...outputs[1].dataSync()], [...other[1].dataSync()]);
  // The last block ends with instance norm + LeakyReLU(0.01): every channel of every image has
  // mean and spread of a normalised map (mean of leaky(N(0,1))-like values is positive, < 0.5).
  const means = tf.mean(outputs[0], [1, 2]).dataSync();
  means.forEach((m) => assert(m > -0.01 && m < 0.6, `channel mean ${m}`));
  assertThrows(() => a.apply([inputs[0]]), RangeError, "3 feature scales");
  assertThrows(() => a.apply([inputs[1], inputs[1], inputs[2]]), RangeError, "channels");
  tf.dispose([...inputs, ...outputs, ...same, ...other]);
  for (const p of [a, b, c]) p.dispose();
});

Deno.test("feature noise: p = 1 changes exactly 50% of positions, p = 0 none", () => {
  const features = [tf.zeros([3, 4, 6, 5]), tf.zeros([3, 3, 3, 2])] as tf.Tensor4D[];
  const noisy = maybeAddFeatureNoise(
    features,
    { probability: 1, fraction: 0.5, std: 1 },
    mulberry32(1),
  );
  assert(noisy.applied);
  noisy.features.forEach((feature, s) => {
    const [batch, height, width, channels] = feature.shape;
    const values = feature.dataSync();
    for (let b = 0; b < batch; b++) {
      let changed = 0;
      for (let p = 0; p < height * width; p++) {
        const offset = (b * height * width + p) * channels;
        const hits = values.slice(offset, offset + channels).filter((v) => v !== 0).length;
        // A chosen position gets noise in every channel; the others in none.
        assert(hits === 0 || hits === channels, `scale ${s}: ${hits} of ${channels} channels`);
        if (hits > 0) changed++;
      }
      assertEquals(changed, Math.round(0.5 * height * width), `scale ${s}, image ${b}`);
    }
  });
  const clean = maybeAddFeatureNoise(
    features,
    { probability: 0, fraction: 0.5, std: 1 },
    mulberry32(1),
  );
  assert(!clean.applied);
  assertEquals(clean.features, features);
  clean.features.forEach((f) => assert(f.dataSync().every((v) => v === 0)));
  // Same seed, same noise; and roughly N(0, 1) at the noisy positions.
  const again = maybeAddFeatureNoise(
    features,
    { probability: 1, fraction: 0.5, std: 1 },
    mulberry32(1),
  );
  assertEquals([...again.features[0].dataSync()], [...noisy.features[0].dataSync()]);
  const nonZero = [...noisy.features[0].dataSync()].filter((v) => v !== 0);
  const variance = nonZero.reduce((s, v) => s + v * v, 0) / nonZero.length;
  assert(variance > 0.5 && variance < 1.6, `variance ${variance}`);
  tf.dispose([...features, ...noisy.features, ...again.features]);
});

Deno.test("feature noise: the step coin lands heads at about the configured rate", () => {
  const rng = mulberry32(2);
  const feature = [tf.zeros([1, 2, 2, 1])] as tf.Tensor4D[];
  let applied = 0;
  const steps = 2000;
  for (let i = 0; i < steps; i++) {
    const result = maybeAddFeatureNoise(feature, { probability: 0.31, fraction: 0.5, std: 1 }, rng);
    if (result.applied) {
      applied++;
      tf.dispose(result.features);
    }
  }
  assertAlmostEquals(applied / steps, 0.31, 0.04);
  tf.dispose(feature);
});

Deno.test("config: defaults, overrides and clear errors", () => {
  assertEquals(resolveCCLConfig(), { ...DEFAULT_CCL_CONFIG });
  assertEquals(DEFAULT_CCL_CONFIG.temperatureLocal, 0.05);
  assertEquals(DEFAULT_CCL_CONFIG.temperatureGlobal, 0.05);
  assertEquals(DEFAULT_CCL_CONFIG.window, 3);
  assertEquals(DEFAULT_CCL_CONFIG.projectorLearningRate, 1e-3);
  const config = resolveCCLConfig({ window: 0, sameClassPositive: true }, "run.json");
  assertEquals(config.window, 0);
  assert(config.sameClassPositive);
  assertEquals(JSON.parse(JSON.stringify(config)), config);
  assertThrows(
    () => resolveCCLConfig({ windw: 3 }, "run.json"),
    Error,
    'run.json: unknown CCL option "windw"',
  );
  assertThrows(() => resolveCCLConfig({ window: 4 }, "run.json"), RangeError, "odd");
  assertThrows(() => resolveCCLConfig({ temperatureLocal: 0 }), RangeError, "temperatureLocal");
  assertThrows(() => resolveCCLConfig({ noiseProbability: 1.5 }), RangeError, "[0, 1]");
  assertThrows(() => resolveCCLConfig({ lambdaGlobal: "1" }), TypeError, "must be a number");
  assertThrows(() => resolveCCLConfig({ lambdaGlobal: NaN }), RangeError, "finite");
});

Deno.test("labels: class names -> sorted ids", () => {
  const index = classIndexFromNames(["wood", "carpet", "wood", "bottle"]);
  assertEquals(index.names, ["bottle", "carpet", "wood"]);
  assertEquals([...classIdsFromNames(["wood", "carpet", "wood"])], [1, 0, 1]);
  assertEquals([...classIdsFromNames(["wood", "bottle"], index)], [2, 0]);
  assertThrows(() => classIdsFromNames(["tile"], index), RangeError, 'unknown class "tile"');
});

Deno.test("labels: pseudo-label file -> ids, with clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/labels.json`;
    await Deno.writeTextFile(file, JSON.stringify({ "a/0.png": 3, "./b/1.png": 0, "c/2.png": 3 }));
    const labels = await readPseudoLabels(file);
    assertEquals([...classIdsFromPseudoLabels(["a/0.png", "b/1.png", "./c/2.png"], labels, file)], [
      3,
      0,
      3,
    ]);
    const error = assertThrows(
      () => classIdsFromPseudoLabels(["a/0.png", "x/9.png", "y/8.png"], labels, file),
      DatasetError,
    );
    assert(error.message.includes(file), error.message);
    assert(error.message.includes("2 of 3 images"), error.message);
    assert(error.message.includes('"x/9.png"'), error.message);

    await Deno.writeTextFile(file, "{ not json");
    await assertRejects(() => readPseudoLabels(file), "not valid JSON");
    await assertRejects(() => readPseudoLabels(`${dir}/missing.json`), "cannot read");
    assertThrows(
      () => parsePseudoLabels({ "a.png": 1.5 }, file),
      DatasetError,
      "non-negative integer",
    );
    assertThrows(() => parsePseudoLabels([1, 2], file), DatasetError, "one JSON object");
    assertThrows(() => parsePseudoLabels({}, file), DatasetError, "empty");
    assertThrows(
      () => parsePseudoLabels({ "a/b.png": 1, "./a/b.png": 2 }, file),
      DatasetError,
      "same image",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function assertRejects(fn: () => Promise<unknown>, includes: string): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof DatasetError)) throw new Error(`expected a DatasetError, got ${error}`);
    assert(error.message.includes(includes), error.message);
    return;
  }
  throw new Error("expected a rejection");
}
