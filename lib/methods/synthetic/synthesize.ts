/**
 * The anomaly synthesiser shared by DRAEM and DeSTSeg: a Perlin-noise mask (resolution 2^a x
 * 2^b with a, b in [0, 6), rotated by up to ±90°, thresholded at 0.5) filled with a foreign
 * texture blended as the originals do: inside the mask, (1 - β) · texture + β · image with
 * β ~ U(0, 0.8); outside, the image. Every random number comes from the generator given, so
 * the same seed gives the same anomalies.
 *
 * The texture is procedural by default (`textures.ts`); texture images replace it: a list, or a
 * user's folder (DTD's images in the originals) packed by `loadTextureFolder`
 * (`texture_folder.ts`). One random number picks the texture of each image, so the same seed
 * and the same folder give the same anomalies.
 * @module
 */
import { perlinNoise } from "./perlin.ts";
import { type PackedTextures, unpackTexture } from "./texture_folder.ts";
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
  /**
   * Texture images at the batch's size: `H * W * 3` arrays in [0, 1], or a folder's textures
   * packed as bytes; default (absent or empty) procedural textures.
   */
  textures?: Textures;
}

/** Texture images for {@linkcode SynthesisOptions.textures}. */
export type Textures = readonly Float32Array[] | PackedTextures;

/** What a method that synthesises anomalies may be given besides its config. */
export interface SynthesisResources {
  /** Textures to paste instead of procedural ones (e.g. a user's folder). */
  textures?: Textures;
}

function textureCount(textures: Textures | undefined): number {
  if (!textures) return 0;
  return "pixels" in textures ? textures.count : textures.length;
}

function checkTextureSizes(textures: Textures | undefined, height: number, width: number) {
  const where = "lib/methods/synthetic/synthesize.ts";
  if (textures && "pixels" in textures) {
    if (textures.height !== height || textures.width !== width) {
      throw new Error(
        `${where}: textures are ${textures.height}x${textures.width}, the batch's images ` +
          `${height}x${width}`,
      );
    }
    return;
  }
  for (const [i, texture] of (textures ?? []).entries()) {
    if (texture.length !== height * width * 3) {
      throw new Error(
        `${where}: texture ${i} has ${texture.length} values, expected ${height}x${width}x3`,
      );
    }
  }
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
  const [imageCount, height, width] = batch.shape;
  const pixels = height * width;
  if (batch.images.length !== imageCount * pixels * 3) {
    throw new Error(
      `lib/methods/synthetic/synthesize.ts: ${batch.images.length} values for a batch of ` +
        `[${batch.shape}] RGB images`,
    );
  }
  const textures = options.textures;
  checkTextureSizes(textures, height, width);
  const count = textureCount(textures);
  const unpacked = new Float32Array(pixels * 3);
  const maxBeta = options.maxBeta ?? 0.8;
  const out = Float32Array.from(batch.images);
  const masks = new Float32Array(imageCount * pixels);
  for (let b = 0; b < imageCount; b++) {
    // Every image draws the same numbers whether or not it becomes anomalous, so one image's
    // coin does not shift the next image's anomaly.
    const anomalous = rng() < options.probability;
    const mask = perlinMask(height, width, rng, options);
    const index = count > 0 ? Math.floor(rng() * count) : -1;
    const procedural = index < 0 ? proceduralTexture(height, width, rng) : undefined;
    const beta = rng() * maxBeta;
    if (!anomalous) continue;
    const texture = procedural ??
      (textures && "pixels" in textures
        ? unpackTexture(textures, index, unpacked)
        : (textures as readonly Float32Array[])[index]);
    masks.set(mask, b * pixels);
    const offset = b * pixels * 3;
    for (let p = 0; p < pixels; p++) {
      if (mask[p] === 0) continue;
      for (let c = 0; c < 3; c++) {
        const i = offset + p * 3 + c;
        out[i] = (1 - beta) * texture[p * 3 + c] + beta * batch.images[i];
      }
    }
  }
  return { images: out, masks };
}
