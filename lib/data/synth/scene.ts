/**
 * The shared vocabulary of the synthetic dataset: what a class is, what one drawn instance of
 * it can do, and which defect types exist.
 * @module
 */

import type { GrayCanvas, RgbCanvas } from "./canvas.ts";
import type { Lighting } from "./lighting.ts";
import type { Rng } from "./sampling.ts";

/** Every defect type the generator can draw. */
export type DefectType =
  | "scratch"
  | "hole"
  | "stain"
  | "crack"
  | "missing"
  | "misplaced"
  | "foreign_class";

/** Whether a class is a repeating surface or a single part on a background. */
export type SynthKind = "texture" | "object";

/** One rendered, unlit image and where the part is. */
export interface Scene {
  /** The image before lighting and sensor noise. */
  image: RgbCanvas;
  /** Coverage of the part (objects) or all ones (textures); surface defects stay inside it. */
  foreground: GrayCanvas;
}

/**
 * One drawn instance of a class: its parameters are fixed, so it can be rendered again, or
 * rendered with a part removed or moved to make structural defects.
 */
export interface SynthInstance {
  /** The illumination this photograph gets. */
  readonly lighting: Lighting;
  /** Renders the instance at the size it was drawn for. */
  render(): Scene;
  /** The same instance with a part missing (objects only). */
  withMissingPart?(rng: Rng): SynthInstance;
  /** The same instance with a part displaced (objects only). */
  withMisplacedPart?(rng: Rng): SynthInstance;
}

/** A class of the synthetic dataset. */
export interface SynthClass {
  /** Folder name of the class. */
  readonly name: string;
  readonly kind: SynthKind;
  /** One line describing what a normal image looks like. */
  readonly description: string;
  /** The defect types its test split contains, in the order test images cycle through them. */
  readonly defects: readonly DefectType[];
  /** Draws the random parameters (pose, pattern, lighting) of one image of side `size`. */
  sample(rng: Rng, size: number): SynthInstance;
}
