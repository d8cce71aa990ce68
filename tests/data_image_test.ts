import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { join } from "@std/path";
import sharp from "sharp";
import {
  batchIterator,
  DatasetError,
  type DecodeCache,
  denormalize,
  encodePng,
  epochOrder,
  IMAGENET_MEAN,
  IMAGENET_STD,
  loadImage,
  loadMask,
  normalizeImageNet,
  readImageSize,
  type SampleRecord,
} from "../lib/data/mod.ts";
import { decodeBmp } from "../lib/data/bmp.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_image_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Deterministic RGB test pattern: every pixel and channel different. */
function pattern(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + 11) % 256;
  return data;
}

async function writeRaw(
  path: string,
  data: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
): Promise<void> {
  let image = sharp(data, { raw: { width, height, channels } });
  // Without this sharp stores one- and two-channel input as RGB(A).
  if (channels <= 2) image = image.toColourspace("b-w");
  await image.png().toFile(path);
  const stored = (await sharp(path).metadata()).channels;
  if (stored !== channels) {
    throw new Error(`fixture ${path} has ${stored} channels, not ${channels}`);
  }
}

/** BMP writer for tests: 24-bit (bottom-up) or 32-bit (top-down) from RGB bytes. */
function encodeBmp(rgb: Uint8Array, width: number, height: number, bits: 24 | 32): Uint8Array {
  const bpp = bits / 8;
  const stride = Math.ceil((width * bpp) / 4) * 4;
  const bytes = new Uint8Array(54 + stride * height);
  const view = new DataView(bytes.buffer);
  bytes.set([0x42, 0x4d]);
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, bits === 24 ? height : -height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, bits, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (bits === 24 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      bytes[row + x * bpp] = rgb[s + 2];
      bytes[row + x * bpp + 1] = rgb[s + 1];
      bytes[row + x * bpp + 2] = rgb[s];
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// loadImage

Deno.test("loadImage at native size returns the pixels / 255, HWC RGB", async () => {
  await withTempDir(async (dir) => {
    const data = pattern(6, 4);
    await writeRaw(join(dir, "a.png"), data, 6, 4, 3);
    // Non-square images are resized to a square; at 6 -> 6 columns only rows are resampled,
    // so use a square image for the exact check.
    const square = pattern(5, 5);
    await writeRaw(join(dir, "b.png"), square, 5, 5, 3);
    const img = await loadImage(join(dir, "b.png"), { resize: 5 });
    assertEquals(img.length, 5 * 5 * 3);
    for (let i = 0; i < img.length; i++) assertAlmostEquals(img[i], square[i] / 255, 1e-7);
    assertEquals((await loadImage(join(dir, "a.png"), { resize: 7 })).length, 7 * 7 * 3);
  });
});

Deno.test("loadImage centre crop is the middle of the resized image", async () => {
  await withTempDir(async (dir) => {
    await writeRaw(join(dir, "a.png"), pattern(8, 8), 8, 8, 3);
    const full = await loadImage(join(dir, "a.png"), { resize: 8 });
    const crop = await loadImage(join(dir, "a.png"), { resize: 8, crop: 4 });
    assertEquals(crop.length, 4 * 4 * 3);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        for (let c = 0; c < 3; c++) {
          assertEquals(crop[(y * 4 + x) * 3 + c], full[((y + 2) * 8 + x + 2) * 3 + c]);
        }
      }
    }
    await assertRejects(() => loadImage(join(dir, "a.png"), { resize: 4, crop: 8 }), RangeError);
  });
});

Deno.test("loadImage converts grayscale, gray+alpha and RGBA to RGB", async () => {
  await withTempDir(async (dir) => {
    const gray = new Uint8Array([0, 50, 100, 255]);
    await writeRaw(join(dir, "g.png"), gray, 2, 2, 1);
    const g = await loadImage(join(dir, "g.png"), { resize: 2 });
    for (let p = 0; p < 4; p++) {
      for (let c = 0; c < 3; c++) assertAlmostEquals(g[p * 3 + c], gray[p] / 255, 1e-7);
    }
    const rgba = new Uint8Array([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 1, 2, 3, 4]);
    await writeRaw(join(dir, "rgba.png"), rgba, 2, 2, 4);
    const a = await loadImage(join(dir, "rgba.png"), { resize: 2 });
    for (let p = 0; p < 4; p++) {
      for (let c = 0; c < 3; c++) assertAlmostEquals(a[p * 3 + c], rgba[p * 4 + c] / 255, 1e-7);
    }
    const ga = new Uint8Array([10, 255, 200, 0, 30, 9, 77, 77]);
    await writeRaw(join(dir, "ga.png"), ga, 2, 2, 2);
    const b = await loadImage(join(dir, "ga.png"), { resize: 2 });
    assertAlmostEquals(b[3 * 1 + 1], 200 / 255, 1e-7);
  });
});

Deno.test("loadImage reads 16-bit PNG scaled to [0, 1]", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "g16.png");
    await sharp(new Uint16Array([0, 65535, 32896, 65535]), {
      raw: { width: 2, height: 2, channels: 1 },
    }).toColourspace("grey16").png().toFile(path);
    const img = await loadImage(path, { resize: 2 });
    assertAlmostEquals(img[0], 0, 1e-7);
    assertAlmostEquals(img[3], 1, 1e-7);
    assertAlmostEquals(img[6], 128 / 255, 1e-7);
  });
});

Deno.test("loadImage decodes BMP (24-bit bottom-up, 32-bit top-down) like the same PNG", async () => {
  await withTempDir(async (dir) => {
    const rgb = pattern(5, 3); // odd width exercises row padding
    await writeRaw(join(dir, "ref.png"), rgb, 5, 3, 3);
    for (const bits of [24, 32] as const) {
      const path = join(dir, `img${bits}.bmp`);
      await Deno.writeFile(path, encodeBmp(rgb, 5, 3, bits));
      assertEquals(decodeBmp(await Deno.readFile(path)).data, rgb);
      assertEquals(await readImageSize(path), { width: 5, height: 3 });
      assertEquals(
        await loadImage(path, { resize: 6 }),
        await loadImage(join(dir, "ref.png"), { resize: 6 }),
      );
    }
    // Recognised by its signature even under another extension.
    const disguised = join(dir, "disguised.png");
    await Deno.writeFile(disguised, encodeBmp(rgb, 5, 3, 24));
    assertEquals(
      await loadImage(disguised, { resize: 5 }),
      await loadImage(join(dir, "ref.png"), { resize: 5 }),
    );
  });
});

Deno.test("corrupt or missing images raise DatasetError naming the file", async () => {
  await withTempDir(async (dir) => {
    const garbage = join(dir, "garbage.png");
    await Deno.writeFile(garbage, new TextEncoder().encode("this is not a png"));
    const e1 = await assertRejects(() => loadImage(garbage, { resize: 4 }), DatasetError);
    assertEquals(e1.path, garbage);
    await assertRejects(() => readImageSize(garbage), DatasetError, garbage);

    // Truncated after the header: the header check passes, decoding fails.
    const truncated = join(dir, "truncated.png");
    const png = await sharp(pattern(32, 32), { raw: { width: 32, height: 32, channels: 3 } })
      .png().toBuffer();
    await Deno.writeFile(truncated, png.subarray(0, png.length / 2));
    assertEquals(await readImageSize(truncated), { width: 32, height: 32 });
    const e2 = await assertRejects(() => loadImage(truncated, { resize: 4 }), DatasetError);
    assertStringIncludes(e2.message, truncated);

    const badBmp = join(dir, "bad.bmp");
    await Deno.writeFile(badBmp, encodeBmp(pattern(4, 4), 4, 4, 24).subarray(0, 60));
    await assertRejects(() => loadImage(badBmp, { resize: 4 }), DatasetError, "truncated BMP");

    const missing = join(dir, "nope.png");
    await assertRejects(() => loadImage(missing, { resize: 4 }), DatasetError, "does not exist");
  });
});

// ---------------------------------------------------------------------------------------------
// Normalisation

Deno.test("normalizeImageNet and denormalize are inverse on [0, 1] values", () => {
  const img = new Float32Array([0.485, 0.456, 0.406, 1, 0, 0.5]);
  const norm = normalizeImageNet(img);
  assertAlmostEquals(norm[0], 0, 1e-6);
  assertAlmostEquals(norm[2], 0, 1e-6);
  assertAlmostEquals(norm[3], (1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], 1e-6);
  assertAlmostEquals(norm[4], -IMAGENET_MEAN[1] / IMAGENET_STD[1], 1e-6);
  const back = denormalize(norm);
  for (let i = 0; i < img.length; i++) assertAlmostEquals(back[i], img[i], 1e-6);
  assertEquals(img[0], Math.fround(0.485), "input untouched");
  normalizeImageNet(img, img);
  assertAlmostEquals(img[3], norm[3], 1e-7);
  // denormalize clamps for display.
  assertEquals(denormalize(new Float32Array([100, -100, 0]))[0], 1);
  assertEquals(denormalize(new Float32Array([100, -100, 0]))[1], 0);
});

// ---------------------------------------------------------------------------------------------
// Masks

Deno.test("loadMask binarises above half the range and resizes by nearest neighbour", async () => {
  await withTempDir(async (dir) => {
    // 2x2 mask: 127 stays normal, 128 becomes anomalous.
    const path = join(dir, "m.png");
    await writeRaw(path, new Uint8Array([0, 255, 127, 128]), 2, 2, 1);
    assertEquals(await loadMask(path, 2), new Uint8Array([0, 1, 0, 1]));
    // Upscaled 2x: each pixel becomes a 2x2 block.
    assertEquals(
      await loadMask(path, 4),
      new Uint8Array([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]),
    );
    // Downscaled 8x8 -> 4x4 with a crop of 2 takes the centre.
    const big = new Uint8Array(64);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) big[y * 8 + x] = x >= 4 ? 255 : 0;
    await writeRaw(join(dir, "big.png"), big, 8, 8, 1);
    const m = await loadMask(join(dir, "big.png"), { resize: 4, crop: 2 });
    assertEquals(m, new Uint8Array([0, 1, 0, 1]));
    // RGB mask: any bright channel counts.
    await writeRaw(join(dir, "rgb.png"), new Uint8Array([0, 0, 0, 0, 200, 0]), 2, 1, 3);
    const rgb = await loadMask(join(dir, "rgb.png"), 2);
    assertEquals(rgb.slice(0, 2), new Uint8Array([0, 1]));
  });
});

Deno.test("loadMask: undefined gives zeros; label-index masks are rejected", async () => {
  assertEquals(await loadMask(undefined, 3), new Uint8Array(9));
  assertEquals(await loadMask(undefined, { resize: 4, crop: 2 }), new Uint8Array(4));
  await withTempDir(async (dir) => {
    const path = join(dir, "label.png");
    await writeRaw(path, new Uint8Array([0, 1, 2, 0]), 2, 2, 1);
    const e = await assertRejects(() => loadMask(path, 2), DatasetError);
    assertStringIncludes(e.message, "values go up to 2 only");
    assertEquals(e.path, path);
  });
});

// ---------------------------------------------------------------------------------------------
// PNG encoding

Deno.test("encodePng round-trips float and uint8 pixels", async () => {
  const floats = new Float32Array([0, 0.5, 1, 2, -1, 0.25]);
  const png = await encodePng(floats, [1, 2, 3]);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assertEquals([info.width, info.height, info.channels], [2, 1, 3]);
  assertEquals([...data], [0, 128, 255, 255, 0, 64]);
  const gray = await encodePng(new Uint8Array([7, 8, 9, 10]), [2, 2]);
  assertEquals((await sharp(gray).metadata()).channels, 1);
  const g = await sharp(gray).extractChannel(0).raw().toBuffer();
  assertEquals([...g], [7, 8, 9, 10]);
  await assertRejects(() => encodePng(new Uint8Array(5), [2, 2]), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Batches

async function makeRecords(dir: string, n: number): Promise<SampleRecord[]> {
  const records: SampleRecord[] = [];
  for (let i = 0; i < n; i++) {
    const imagePath = join(dir, `img${i}.png`);
    // Each image a flat colour that encodes its index, so batches can be checked.
    await writeRaw(imagePath, new Uint8Array(4 * 4 * 3).fill(i * 10), 4, 4, 3);
    const record: SampleRecord = {
      imagePath,
      className: i % 2 ? "b" : "a",
      split: "test",
      defect: i % 3 === 0 ? "cut" : "good",
      label: i % 3 === 0 ? 1 : 0,
    };
    if (record.label === 1) {
      const maskPath = join(dir, `mask${i}.png`);
      record.maskPath = maskPath;
      await writeRaw(maskPath, new Uint8Array(16).fill(255), 4, 4, 1);
    }
    records.push(record);
  }
  return records;
}

async function collect(records: SampleRecord[], options: Parameters<typeof batchIterator>[1]) {
  const batches = [];
  for await (const batch of batchIterator(records, options)) batches.push(batch);
  return batches;
}

Deno.test("batchIterator yields normalised NHWC batches covering every record once", async () => {
  await withTempDir(async (dir) => {
    const records = await makeRecords(dir, 7);
    const batches = await collect(records, { batchSize: 3, size: 4, withMasks: true });
    assertEquals(batches.map((b) => b.shape), [[3, 4, 4, 3], [3, 4, 4, 3], [1, 4, 4, 3]]);
    assertEquals(batches.flatMap((b) => b.records), records);
    for (const batch of batches) {
      assertEquals(batch.images.length, batch.shape[0] * 4 * 4 * 3);
      batch.records.forEach((r, i) => {
        const index = records.indexOf(r);
        const expected = (index * 10 / 255 - IMAGENET_MEAN[1]) / IMAGENET_STD[1];
        assertAlmostEquals(batch.images[i * 48 + 1], expected, 1e-5);
        assertEquals(batch.masks![i], new Uint8Array(16).fill(r.label));
      });
    }
    const dropped = await collect(records, { batchSize: 3, size: 4, dropLast: true });
    assertEquals(dropped.length, 2);
    const raw = await collect(records, { batchSize: 7, size: 4, normalize: false });
    assertAlmostEquals(raw[0].images[48 * 2], 20 / 255, 1e-7);
    assertEquals(raw[0].masks, undefined);
  });
});

Deno.test("batchIterator shuffle is seeded per epoch; prefetch does not change results", async () => {
  await withTempDir(async (dir) => {
    const records = await makeRecords(dir, 9);
    const order = (seed: number, epoch: number) =>
      collect(records, { batchSize: 4, size: 4, shuffle: true, seed, epoch })
        .then((bs) => bs.flatMap((b) => b.records.map((r) => records.indexOf(r))));
    const a = await order(5, 0);
    assertEquals(await order(5, 0), a);
    assertNotEquals(await order(5, 1), a);
    assertEquals([...a].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assertEquals(a, epochOrder(9, { shuffle: true, seed: 5, epoch: 0 }));

    const base = { batchSize: 2, size: 4, shuffle: true, seed: 1, withMasks: true };
    const eager = await collect(records, { ...base, prefetch: 4 });
    const lazy = await collect(records, { ...base, prefetch: 0 });
    assertEquals(eager, lazy);
  });
});

Deno.test("batchIterator cache serves later epochs without decoding", async () => {
  await withTempDir(async (dir) => {
    const records = await makeRecords(dir, 5);
    const cache: DecodeCache = new Map();
    const first = await collect(records, { batchSize: 2, size: 4, withMasks: true, cache });
    assertEquals(cache.size, 5 + 2); // images + the masks of records 0 and 3
    // Delete the files: a second pass must come entirely from the cache.
    for (const r of records) await Deno.remove(r.imagePath);
    const second = await collect(records, { batchSize: 2, size: 4, withMasks: true, cache });
    assertEquals(second, first);
    // Without the cache the missing files are reported.
    await assertRejects(
      () => collect(records, { batchSize: 2, size: 4 }),
      DatasetError,
      "does not exist",
    );
  });
});

Deno.test("batchIterator surfaces decode errors and survives an early stop", async () => {
  await withTempDir(async (dir) => {
    const records = await makeRecords(dir, 6);
    await Deno.writeFile(records[5].imagePath, new Uint8Array([9, 9, 9]));
    // Stop after the first batch while later ones (including the broken one) are in flight.
    for await (const batch of batchIterator(records, { batchSize: 2, size: 4, prefetch: 3 })) {
      assert(batch.records.length === 2);
      break;
    }
    const e = await assertRejects(() => collect(records, { batchSize: 2, size: 4 }), DatasetError);
    assertEquals(e.path, records[5].imagePath);
  });
});
