/**
 * Creates anomaly-detection methods by name.
 * @module
 */
import type { Backbone } from "../backbones/types.ts";
import { createRD } from "./rd/rd.ts";
import type { AnomalyMethod } from "./types.ts";

/** The names {@linkcode createMethod} knows. */
export const METHOD_NAMES = ["rd"] as const;

/** A method name {@linkcode createMethod} knows. */
export type MethodName = typeof METHOD_NAMES[number];

/**
 * Creates the method `name` over a frozen `backbone`, with `config` (JSON) overriding the
 * method's defaults for that backbone, initialised from `seed`. The method does not own the
 * backbone.
 *
 * @example
 * ```ts ignore
 * import { createMethod } from "./registry.ts";
 * import type { Backbone } from "../backbones/types.ts";
 * declare const backbone: Backbone;
 * const rd = createMethod("rd", backbone, { learningRate: 1e-3 }, 7);
 * ```
 */
export function createMethod(
  name: string,
  backbone: Backbone,
  config: Record<string, unknown> = {},
  seed = 0,
): AnomalyMethod {
  switch (name) {
    case "rd":
      return createRD(backbone, config, seed);
    default:
      throw new Error(
        `lib/methods/registry.ts: unknown method "${name}" (known: ${METHOD_NAMES.join(", ")})`,
      );
  }
}
