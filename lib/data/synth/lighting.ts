/**
 * Global illumination of a synthetic photograph: exposure, a linear light gradient, vignetting
 * and sensor noise. Applied after any anomaly is drawn, so defects are lit like the rest.
 * @module
 */

import type { RgbCanvas } from "./canvas.ts";
import { randomNormal } from "../../util/random.ts";
import { type Rng, uniform } from "./sampling.ts";

/** How one image is lit and how noisy its sensor is. */
export interface Lighting {
  /** Overall exposure multiplier. */
  gain: number;
  /** Direction (radians) in which the light gradient brightens. */
  gradientAngle: number;
  /** Relative brightness change from the image centre to its edge along the gradient. */
  gradientStrength: number;
  /** Relative darkening at the image corners. */
  vignette: number;
  /** Colour cast: per-channel multipliers close to 1. */
  tint: readonly [number, number, number];
  /** Standard deviation of the additive Gaussian sensor noise (in [0, 1] units). */
  noiseSigma: number;
}

/** Draws a plausible lighting for one image. */
export function sampleLighting(rng: Rng): Lighting {
  return {
    gain: uniform(rng, 0.9, 1.08),
    gradientAngle: uniform(rng, 0, 2 * Math.PI),
    gradientStrength: uniform(rng, 0.04, 0.14),
    vignette: uniform(rng, 0.04, 0.16),
    tint: [uniform(rng, 0.97, 1.03), uniform(rng, 0.98, 1.02), uniform(rng, 0.97, 1.03)],
    noiseSigma: uniform(rng, 0.008, 0.018),
  };
}

/** Multiplies the canvas in place by the exposure, gradient, vignette and tint of `light`. */
export function applyLighting(canvas: RgbCanvas, light: Lighting): void {
  const { width, height, data } = canvas;
  const gx = Math.cos(light.gradientAngle);
  const gy = Math.sin(light.gradientAngle);
  for (let y = 0; y < height; y++) {
    const ny = (y + 0.5) / height - 0.5;
    for (let x = 0; x < width; x++) {
      const nx = (x + 0.5) / width - 0.5;
      const along = 2 * (nx * gx + ny * gy);
      const r2 = 2 * (nx * nx + ny * ny);
      const f = light.gain * (1 + light.gradientStrength * along) * (1 - light.vignette * r2);
      const o = (y * width + x) * 3;
      data[o] *= f * light.tint[0];
      data[o + 1] *= f * light.tint[1];
      data[o + 2] *= f * light.tint[2];
    }
  }
}

/** A field of Gaussian sensor noise of standard deviation `sigma`, one value per channel. */
export function sensorNoise(rng: Rng, length: number, sigma: number): Float32Array {
  const noise = new Float32Array(length);
  for (let i = 0; i < length; i++) noise[i] = sigma * randomNormal(rng);
  return noise;
}

/** Adds a noise field (see {@link sensorNoise}) to the canvas, in place. */
export function addNoise(canvas: RgbCanvas, noise: Float32Array): void {
  const d = canvas.data;
  for (let i = 0; i < d.length; i++) d[i] += noise[i];
}
