/**
 * Rendering one image of the synthetic dataset, end to end: draw the instance, draw the defect
 * (if any), light it, derive the exact mask, add sensor noise. The image depends only on the
 * dataset seed and its key `class/split/defect/index`.
 * @module
 */

import { deriveSeed, mulberry32 } from "../../util/random.ts";
import type { Split } from "../types.ts";
import { drawAnomaly } from "./anomalies.ts";
import {
  channelChange,
  cloneRgbCanvas,
  createGrayCanvas,
  type GrayCanvas,
  maskToBytes,
  type RgbCanvas,
  rgbToBytes,
} from "./canvas.ts";
import { synthFamily, type SynthFamilyName } from "./family.ts";
import { addNoise, applyLighting, sensorNoise } from "./lighting.ts";
import type { DefectType } from "./scene.ts";

/** Which image to render. */
export interface SynthSampleRequest {
  className: string;
  split: Split;
  /** "good" or one of the class's defect types. */
  defect: "good" | DefectType;
  /** Index of the image within its folder. */
  index: number;
  /** Side of the square image, pixels. */
  size: number;
  /** Dataset seed. */
  seed: number;
  /** Family of classes (default "distinct"). */
  family?: SynthFamilyName;
  /** Confusability level of the confusable family, in [0, 1] (default 0). */
  confusability?: number;
}

/** One rendered image, as 8-bit bytes ready to encode. */
export interface SynthSample {
  size: number;
  /** `size * size * 3` RGB bytes. */
  image: Uint8Array;
  /** `size * size` bytes, 0 or 255; present for anomalous images only. */
  mask?: Uint8Array;
  /** For `foreign_class` defects: the class whose appearance was pasted in. */
  sourceClass?: string;
  /**
   * Anomalous images only: the same photograph (same sensor noise) without the defect, as RGB
   * bytes; the mask marks where `image` differs from it visibly.
   */
  normal?: Uint8Array;
}

/** Colour change (largest channel, [0, 1] units) from which a pixel counts as visibly changed. */
const VISIBLE_CHANGE = 0.08;
/** Inside a surface defect's core (alpha >= 0.5) a smaller change still counts. */
const CORE_CHANGE = 0.02;
/** A defect must change the pixels under its mask by at least this much on average. */
const MIN_MEAN_CHANGE = 0.05;
/** Attempts at drawing a visible defect before giving up. */
const MAX_ATTEMPTS = 12;

/**
 * The key an image's randomness is derived from; adding classes or images elsewhere leaves
 * every other image unchanged.
 */
export function sampleKey(className: string, split: Split, defect: string, index: number): string {
  return `${className}/${split}/${defect}/${index}`;
}

/** Fewest mask pixels a defect may have at a given image size. */
export function minimumMaskPixels(size: number): number {
  return Math.max(6, Math.round(size * size * 0.0012));
}

/**
 * Renders one image of the synthetic dataset.
 *
 * @example
 * ```ts
 * import { renderSynthSample } from "./sample.ts";
 * const s = renderSynthSample({
 *   className: "washer", split: "test", defect: "misplaced", index: 0, size: 64, seed: 0,
 * });
 * s.mask!.some((v) => v === 255); // true
 * ```
 */
export function renderSynthSample(request: SynthSampleRequest): SynthSample {
  const { className, split, defect, index, size, seed } = request;
  const family = synthFamily(request.family, request.confusability);
  const synthClass = family.getClass(className);
  if (defect !== "good" && !synthClass.defects.includes(defect)) {
    throw new Error(
      `class "${className}" has no defect "${defect}"; it has: ${synthClass.defects.join(", ")}`,
    );
  }
  const key = sampleKey(className, split, defect, index);
  const rng = mulberry32(deriveSeed(seed, key));
  const instance = synthClass.sample(rng, size);
  const scene = instance.render();
  // Drawers work on the unlit look; the lit copy is what the defect is judged against.
  const unlit = { image: cloneRgbCanvas(scene.image), foreground: scene.foreground };
  const normal = scene.image;
  applyLighting(normal, instance.lighting);
  if (defect === "good") {
    addNoise(normal, sensorNoise(rng, normal.data.length, instance.lighting.noiseSigma));
    return { size, image: rgbToBytes(normal) };
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const drawing = drawAnomaly(defect, {
      synthClass,
      instance,
      scene: unlit,
      size,
      rng,
      foreignSources: family.foreignSources(className),
    });
    const changed = drawing.kind === "surface" ? drawing.image : drawing.scene.image;
    const lit = cloneRgbCanvas(changed);
    applyLighting(lit, instance.lighting);
    const mask = drawing.kind === "surface"
      ? surfaceMask(normal, lit, drawing.alpha)
      : structuralMask(normal, lit);
    if (!isAcceptableDefect(normal, lit, mask)) continue;
    // The same noise on both, so that they differ exactly by the defect.
    const noise = sensorNoise(rng, lit.data.length, instance.lighting.noiseSigma);
    addNoise(lit, noise);
    addNoise(normal, noise);
    return {
      size,
      image: rgbToBytes(lit),
      mask: maskToBytes(mask),
      sourceClass: drawing.kind === "surface" ? drawing.sourceClass : undefined,
      normal: rgbToBytes(normal),
    };
  }
  throw new Error(
    `could not draw a visible "${defect}" defect for ${key} (seed ${seed}, size ${size}) ` +
      `in ${MAX_ATTEMPTS} attempts`,
  );
}

/**
 * Pixels that visibly changed, plus the defect's core (alpha >= 0.5) wherever it changed at
 * all, so a faint stain is masked as a whole region rather than as speckles.
 */
function surfaceMask(before: RgbCanvas, after: RgbCanvas, alpha: GrayCanvas): GrayCanvas {
  const change = channelChange(before, after);
  const mask = createGrayCanvas(before.width, before.height);
  for (let p = 0; p < mask.data.length; p++) {
    const c = change.data[p];
    mask.data[p] = c >= VISIBLE_CHANGE || (alpha.data[p] >= 0.5 && c >= CORE_CHANGE) ? 1 : 0;
  }
  return mask;
}

/**
 * Pixels whose colour changed visibly when the part was re-rendered (including the moved
 * shadow); the threshold ignores the faint anti-aliasing changes along unchanged edges.
 */
function structuralMask(before: RgbCanvas, after: RgbCanvas): GrayCanvas {
  const change = channelChange(before, after);
  const mask = createGrayCanvas(before.width, before.height);
  for (let p = 0; p < mask.data.length; p++) {
    mask.data[p] = change.data[p] >= VISIBLE_CHANGE ? 1 : 0;
  }
  return mask;
}

/** Whether a defect is big enough to see, changes its pixels enough, and is not most of the image. */
function isAcceptableDefect(before: RgbCanvas, after: RgbCanvas, mask: GrayCanvas): boolean {
  const change = channelChange(before, after);
  let count = 0;
  let sum = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (mask.data[p] > 0.5) {
      count++;
      sum += change.data[p];
    }
  }
  const size = before.width;
  return count >= minimumMaskPixels(size) && count < 0.5 * mask.data.length &&
    sum / count >= MIN_MEAN_CHANGE;
}
