/**
 * The registry of synthetic classes: four textures and three objects, in dataset order.
 * @module
 */

import { OBJECT_CLASSES } from "./objects.ts";
import type { SynthClass } from "./scene.ts";
import { TEXTURE_CLASSES } from "./textures.ts";

/** Every class the generator knows, textures first. */
export const SYNTH_CLASSES: readonly SynthClass[] = [...TEXTURE_CLASSES, ...OBJECT_CLASSES];

/** Names of every class, in dataset order. */
export const SYNTH_CLASS_NAMES: readonly string[] = SYNTH_CLASSES.map((c) => c.name);

/**
 * The class called `name`; throws naming the known classes if there is none.
 *
 * @example
 * ```ts
 * import { getSynthClass } from "./classes.ts";
 * getSynthClass("pill").kind; // "object"
 * ```
 */
export function getSynthClass(name: string): SynthClass {
  const found = SYNTH_CLASSES.find((c) => c.name === name);
  if (!found) {
    throw new Error(
      `unknown synthetic class "${name}"; known classes: ${SYNTH_CLASS_NAMES.join(", ")}`,
    );
  }
  return found;
}
