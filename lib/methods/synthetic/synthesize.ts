/**
 * The anomaly synthesiser shared by DRAEM and DeSTSeg: a Perlin-noise mask (resolution 2^a x
 * 2^b with a, b in [0, 6), rotated by up to ±90°, thresholded at 0.5) filled with a foreign
 * texture blended as the originals do: inside the mask, (1 - β) · texture + β · image with
 * β ~ U(0, 0.8); outside, the image. Every random number comes from the generator given, so
 * the same seed gives the same anomalies.
 *
 * The texture is procedural by default (`textures.ts`); a list of texture images (e.g. read from
 * a folder of DTD images with {@linkcode loadTextureFolder}) replaces it.
 * @module
 */
import { loadImage } from "../../data/image.ts";
import { perlinNoise } from "./perlin.ts";
import { proceduralTexture } from "./textures.ts";
import type { RawBatch, SyntheticArrays } from "../types.ts";

/** Options of {@linkcode synthesizeAnomalies}. */
export interface SynthesisOptions {
  /** Probability that an image gets an anomaly (DRAEM 0.5, DeSTSeg 1). */
  probability: number;
  /** Perlin resolutions are 2^a with a uniform in [0, maxScaleExponent) (originals: 6). */
  maxScaleExponent?: number;
  /** Threshold of the noise (originals: 0.5). */
  threshold?: number;
  /** Largest β, the image's share inside the mask (originals: 0.8). */
  maxBeta?: number;
  /** Texture images `H * W * 3` in [0, 1] at the batch's size; default procedural textures. */
  textures?: readonly Float32Array[];
}

/**
 * A Perlin mask for one `height` x `width` image: 1 where the noise exceeds the threshold.
 * Draws again (up to 8 times) when the mask comes out empty, so an image chosen to be
 * anomalous is.
 */
export function perlinMask(
  height: number,
  width: number,
  rng: () => number,
  options: Pick<SynthesisOptions, "maxScaleExponent" | "threshold"> = {},
): Float32Array {
  const maxExponent = options.maxScaleExponent ?? 6;
  const threshold = options.threshold ?? 0.5;
  let mask = new Float32Array(height * width);
  for (let attempt = 0; attempt < 8; attempt++) {
    const resX = 2 ** Math.floor(rng() * maxExponent);
    const resY = 2 ** Math.floor(rng() * maxExponent);
    const noise = perlinNoise(height, width, { resX, resY, rotation: (rng() * 2 - 1) * 90 }, rng);
    mask = Float32Array.from(noise, (v) => (v > threshold ? 1 : 0));
    if (mask.some((v) => v > 0)) break;
  }
  return mask;
}

/**
 * Images with synthetic anomalies and their masks for a batch of clean images in [0, 1].
 *
 * @example
 * ```ts
 * import { synthesizeAnomalies } from "./synthesize.ts";
 * import { mulberry32 } from "../../util/random.ts";
 * const images = new Float32Array(2 * 16 * 16 * 3).fill(0.5);
 * const { masks } = synthesizeAnomalies(
 *   { images, shape: [2, 16, 16] },
 *   { probability: 1 },
 *   mulberry32(0),
 * );
 * if (masks.length !== 2 * 16 * 16) throw new Error();
 * ```
 */
export function synthesizeAnomalies(
  batch: RawBatch,
  options: SynthesisOptions,
  rng: () => number,
): SyntheticArrays {
  const [count, height, width] = batch.shape;
  const pixels = height * width;
  if (batch.images.length !== count * pixels * 3) {
    throw new Error(
      `lib/methods/synthetic/synthesize.ts: ${batch.images.length} values for a batch of ` +
        `[${batch.shape}] RGB images`,
    );
  }
  for (const [i, texture] of (options.textures ?? []).entries()) {
    if (texture.length !== pixels * 3) {
      throw new Error(
        `lib/methods/synthetic/synthesize.ts: texture ${i} has ${texture.length} values, ` +
          `expected ${height}x${width}x3`,
      );
    }
  }
  const maxBeta = options.maxBeta ?? 0.8;
  const images = Float32Array.from(batch.images);
  const masks = new Float32Array(count * pixels);
  for (let b = 0; b < count; b++) {
    // Every image draws the same numbers whether or not it becomes anomalous, so one image's
    // coin does not shift the next image's anomaly.
    const anomalous = rng() < options.probability;
    const mask = perlinMask(height, width, rng, options);
    const textures = options.textures;
    const texture = textures && textures.length
      ? textures[Math.floor(rng() * textures.length)]
      : proceduralTexture(height, width, rng);
    const beta = rng() * maxBeta;
    if (!anomalous) continue;
    masks.set(mask, b * pixels);
    const offset = b * pixels * 3;
    for (let p = 0; p < pixels; p++) {
      if (mask[p] === 0) continue;
      for (let c = 0; c < 3; c++) {
        const i = offset + p * 3 + c;
        images[i] = (1 - beta) * texture[p * 3 + c] + beta * batch.images[i];
      }
    }
  }
  return { images, masks };
}

/**
 * Reads every image of a folder (e.g. DTD's) as a texture of `size` x `size`, RGB in [0, 1],
 * in file-name order. An empty folder is an error.
 */
export async function loadTextureFolder(dir: string, size: number): Promise<Float32Array[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /\.(png|jpe?g|bmp)$/i.test(entry.name)) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new Error(`lib/methods/synthetic/synthesize.ts: no PNG/JPEG/BMP images in ${dir}`);
  }
  names.sort();
  return await Promise.all(names.map((name) => loadImage(`${dir}/${name}`, { resize: size })));
}
