/** Small on-disk datasets for the tests/trust_*_test.ts files. */
import { dirname, join } from "@std/path";
import sharp from "sharp";

/** An 8x8 grey PNG (a JPEG for `.jpg`). */
export async function writeImage(path: string, value = 128, side = 8): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const image = sharp(new Uint8Array(side * side * 3).fill(value), {
    raw: { width: side, height: side, channels: 3 },
  });
  await (path.toLowerCase().endsWith(".jpg") ? image.jpeg() : image.png()).toFile(path);
}

/** A PNG of seeded noise (it does not compress, so cutting it leaves the header whole). */
export async function writeNoise(path: string, side = 64, seed = 1): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  let state = seed;
  const data = Uint8Array.from({ length: side * side * 3 }, () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 24;
  });
  await sharp(data, { raw: { width: side, height: side, channels: 3 } }).png().toFile(path);
}

/**
 * An 8x8 mask, the top two rows anomalous (255); `scattered`: every third pixel anomalous
 * instead (a mask that compresses poorly, so cutting it leaves the header whole).
 */
export async function writeMask(path: string, side = 8, scattered = false): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const data = new Uint8Array(side * side);
  if (scattered) data.forEach((_, i) => data[i] = (i * 7919) % 3 === 0 ? 255 : 0);
  else data.fill(255, 0, side * 2);
  await sharp(data, { raw: { width: side, height: side, channels: 1 } }).toColourspace("b-w")
    .png().toFile(path);
}

/** One MVTec-layout class: 2 train, 1 normal test, 1 anomalous test image with its mask. */
export async function writeMvtecClass(classDir: string): Promise<void> {
  await writeImage(join(classDir, "train/good/000.png"));
  await writeImage(join(classDir, "train/good/001.png"));
  await writeImage(join(classDir, "test/good/000.png"));
  await writeImage(join(classDir, "test/crack/000.png"), 200);
  await writeMask(join(classDir, "ground_truth/crack/000_mask.png"));
}

/** A temporary folder, removed after `fn`. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ccl_ad_trust_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Cuts a file to the first `fraction` of its bytes: a header that reads, a body that does not. */
export async function truncateFile(path: string, fraction = 0.6): Promise<void> {
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.slice(0, Math.floor(bytes.length * fraction)));
}
