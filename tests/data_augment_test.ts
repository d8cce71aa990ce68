import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "@std/assert";
import {
  augmentBatch,
  type AugmentOptions,
  augmentView,
  defaultKernelSize,
  NO_AUGMENT,
} from "../lib/data/mod.ts";
import { mulberry32 } from "../lib/util/random.ts";

/** A smooth-but-varied test image in [0, 1]: gradients plus a checker texture. */
function testImage(h: number, w: number, seed = 1): Float32Array {
  const rng = mulberry32(seed);
  const img = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      img[i] = x / (w - 1);
      img[i + 1] = y / (h - 1);
      img[i + 2] = ((x >> 2) + (y >> 2)) % 2 ? 0.9 : 0.1 * rng();
    }
  }
  return img;
}

function only(part: AugmentOptions): AugmentOptions {
  return { ...NO_AUGMENT, ...part };
}

function pixel(img: Float32Array, w: number, x: number, y: number): number[] {
  const i = (y * w + x) * 3;
  return [img[i], img[i + 1], img[i + 2]];
}

function variance(img: Float32Array): number {
  let s = 0, s2 = 0;
  for (const v of img) {
    s += v;
    s2 += v * v;
  }
  const m = s / img.length;
  return s2 / img.length - m * m;
}

Deno.test("augmentView is deterministic for a seed and differs across seeds", () => {
  const img = testImage(32, 40);
  const a = augmentView(img, [32, 40], mulberry32(9));
  const b = augmentView(img, [32, 40], mulberry32(9));
  const c = augmentView(img, [32, 40], mulberry32(10));
  assertEquals(a, b);
  assertNotEquals(a, c);
  assertEquals(a.length, img.length);
  assertEquals(img, testImage(32, 40), "input untouched");
});

Deno.test("with every part off the view is an exact copy", () => {
  const img = testImage(16, 16);
  const view = augmentView(img, [16, 16], mulberry32(1), NO_AUGMENT);
  assertEquals(view, img);
  assert(view !== img, "a new array");
});

Deno.test("flips are exact", () => {
  const [h, w] = [5, 7];
  const img = testImage(h, w);
  const hf = augmentView(img, [h, w], mulberry32(1), only({ hflip: 1 }));
  const vf = augmentView(img, [h, w], mulberry32(1), only({ vflip: 1 }));
  const both = augmentView(img, [h, w], mulberry32(1), only({ hflip: 1, vflip: 1 }));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      assertEquals(pixel(hf, w, x, y), pixel(img, w, w - 1 - x, y));
      assertEquals(pixel(vf, w, x, y), pixel(img, w, x, h - 1 - y));
      assertEquals(pixel(both, w, x, y), pixel(img, w, w - 1 - x, h - 1 - y));
    }
  }
  // p = 0 never flips.
  assertEquals(augmentView(img, [h, w], mulberry32(1), only({ hflip: 0, vflip: 0 })), img);
});

Deno.test("a full-size crop maps the image onto itself exactly", () => {
  const img = testImage(12, 12);
  const view = augmentView(
    img,
    [12, 12],
    mulberry32(3),
    only({ crop: { scale: [1, 1], ratio: [1, 1] } }),
  );
  assertEquals(view, img);
});

Deno.test("flips composed with a full-size crop match the exact flips", () => {
  const [h, w] = [9, 11];
  const img = testImage(h, w);
  const full = { crop: { scale: [1, 1], ratio: [w / h, w / h] } } as const;
  for (const flips of [{ hflip: 1 }, { vflip: 1 }, { hflip: 1, vflip: 1 }]) {
    const viaAffine = augmentView(img, [h, w], mulberry32(1), only({ ...full, ...flips }));
    const exact = augmentView(img, [h, w], mulberry32(1), only(flips));
    for (let i = 0; i < img.length; i++) assertAlmostEquals(viaAffine[i], exact[i], 1e-5);
  }
});

Deno.test("rotation turns a bright spot about the centre by at most 15 degrees", () => {
  const n = 41;
  const img = new Float32Array(n * n * 3);
  // Gaussian spot 12 px right of the centre.
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const d2 = (x - 32) ** 2 + (y - 20) ** 2;
      img.fill(Math.exp(-d2 / 4), (y * n + x) * 3, (y * n + x) * 3 + 3);
    }
  }
  const angles: number[] = [];
  for (let seed = 0; seed < 12; seed++) {
    const view = augmentView(img, [n, n], mulberry32(seed), only({ rotation: 15 }));
    let sx = 0, sy = 0, s = 0;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const v = view[(y * n + x) * 3];
        sx += v * x;
        sy += v * y;
        s += v;
      }
    }
    const [dx, dy] = [sx / s - 20, sy / s - 20];
    assertAlmostEquals(Math.hypot(dx, dy), 12, 0.3);
    const angle = Math.atan2(dy, dx) * 180 / Math.PI;
    assert(Math.abs(angle) <= 15.5, `angle ${angle}`);
    angles.push(angle);
  }
  assert(Math.max(...angles) - Math.min(...angles) > 5, "angles vary with the seed");
});

Deno.test("random resized crop magnifies: a horizontal ramp keeps its direction, spans less", () => {
  const [h, w] = [32, 32];
  const ramp = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) ramp.fill(x / (w - 1), (y * w + x) * 3, (y * w + x) * 3 + 3);
  }
  const spans: number[] = [];
  for (let seed = 0; seed < 20; seed++) {
    const view = augmentView(ramp, [h, w], mulberry32(seed), only({ crop: {} }));
    const row = Array.from({ length: w }, (_, x) => view[(16 * w + x) * 3]);
    for (let x = 1; x < w; x++) assert(row[x] >= row[x - 1] - 1e-6, "still increasing");
    const span = row[w - 1] - row[0];
    // The crop is at least sqrt(0.8 * 3/4) ≈ 0.77 of the width and at most all of it; the
    // ramp's span in the view is that fraction (less the half-pixel ends).
    assert(span <= 1 + 1e-6 && span >= 0.74, `span ${span}`);
    spans.push(span);
  }
  assert(Math.min(...spans) < 0.95, "some crops are clearly smaller than the image");
});

Deno.test("rotation fills the corners by reflection: a constant image stays constant", () => {
  const img = new Float32Array(20 * 20 * 3).fill(0.3);
  for (let seed = 0; seed < 10; seed++) {
    const view = augmentView(img, [20, 20], mulberry32(seed), only({ rotation: 15, crop: {} }));
    for (const v of view) assertAlmostEquals(v, 0.3, 1e-5);
  }
  // A rotated gradient image differs from the input but keeps its mean roughly.
  const grad = testImage(32, 32);
  const rot = augmentView(grad, [32, 32], mulberry32(1), only({ rotation: 15 }));
  assertNotEquals(rot, grad);
});

Deno.test("grayscale p=1 gives equal channels; hue jitter leaves gray pixels alone", () => {
  const img = testImage(8, 8);
  const gray = augmentView(img, [8, 8], mulberry32(2), only({ grayscale: 1 }));
  for (let i = 0; i < gray.length; i += 3) {
    assertEquals(gray[i], gray[i + 1]);
    assertEquals(gray[i], gray[i + 2]);
    assertAlmostEquals(gray[i], 0.2989 * img[i] + 0.587 * img[i + 1] + 0.114 * img[i + 2], 1e-6);
  }
  const flat = new Float32Array(8 * 8 * 3).fill(0.6);
  const hueOnly = only({ colorJitter: { brightness: 0, contrast: 0, saturation: 0, hue: 0.5 } });
  assertEquals(augmentView(flat, [8, 8], mulberry32(4), hueOnly), flat);
  // On a coloured image hue jitter changes colours but not the per-pixel max (HSV value).
  const hued = augmentView(img, [8, 8], mulberry32(4), hueOnly);
  assertNotEquals(hued, img);
  for (let i = 0; i < img.length; i += 3) {
    assertAlmostEquals(
      Math.max(hued[i], hued[i + 1], hued[i + 2]),
      Math.max(img[i], img[i + 1], img[i + 2]),
      1e-5,
    );
  }
});

Deno.test("brightness jitter scales every value by one factor within ±0.4", () => {
  const img = new Float32Array(4 * 4 * 3).fill(0.5);
  const options = only({ colorJitter: { brightness: 0.4, contrast: 0, saturation: 0, hue: 0 } });
  for (let seed = 0; seed < 10; seed++) {
    const view = augmentView(img, [4, 4], mulberry32(seed), options);
    assert(view.every((v) => v === view[0]), "uniform factor");
    assert(view[0] >= 0.3 - 1e-6 && view[0] <= 0.7 + 1e-6, `value ${view[0]}`);
  }
});

Deno.test("blur keeps constant images constant and smooths texture", () => {
  const flat = new Float32Array(30 * 30 * 3).fill(0.25);
  const blur = only({ blur: { p: 1, sigma: [1.5, 2] } });
  for (const v of augmentView(flat, [30, 30], mulberry32(1), blur)) {
    assertAlmostEquals(v, 0.25, 1e-6);
  }
  const noise = new Float32Array(30 * 30 * 3);
  const rng = mulberry32(7);
  for (let i = 0; i < noise.length; i++) noise[i] = rng();
  const smoothed = augmentView(noise, [30, 30], mulberry32(1), blur);
  assert(variance(smoothed) < variance(noise) / 4, "noise variance drops");
  assertEquals(defaultKernelSize(128, 128), 13);
  assertEquals(defaultKernelSize(64, 96), 7);
  assertEquals(defaultKernelSize(20, 20), 3);
  assertThrows(
    () => augmentView(noise, [30, 30], mulberry32(1), only({ blur: { p: 1, kernelSize: 4 } })),
    RangeError,
  );
});

Deno.test("all parts on: shape kept and values stay in [0, 1]", () => {
  for (const [h, w] of [[64, 64], [48, 80], [1, 1]] as const) {
    const img = testImage(Math.max(h, 2), Math.max(w, 2)).subarray(0, h * w * 3);
    for (let seed = 0; seed < 25; seed++) {
      const view = augmentView(img, [h, w], mulberry32(seed));
      assertEquals(view.length, h * w * 3);
      for (const v of view) assert(v >= 0 && v <= 1 && !Number.isNaN(v), `value ${v}`);
    }
  }
  assertThrows(() => augmentView(new Float32Array(10), [2, 2], mulberry32(1)), RangeError);
});

Deno.test("augmentBatch equals augmentView image by image with the same generator", () => {
  const [b, h, w] = [3, 16, 16];
  const batch = new Float32Array(b * h * w * 3);
  for (let i = 0; i < b; i++) batch.set(testImage(h, w, i + 1), i * h * w * 3);
  const out = augmentBatch(batch, [b, h, w], mulberry32(5));
  const rng = mulberry32(5);
  for (let i = 0; i < b; i++) {
    const single = augmentView(batch.subarray(i * h * w * 3, (i + 1) * h * w * 3), [h, w], rng);
    assertEquals(out.subarray(i * h * w * 3, (i + 1) * h * w * 3), single);
  }
});
