/**
 * The embedded default dataset of ccl-ad: a synthetic multi-class industrial anomaly dataset
 * in the MVTec AD layout, generated deterministically from a seed, with scratches, holes,
 * stains, cracks, missing and misplaced parts, and patches of another class's normal
 * appearance (`foreign_class`), each with an exact pixel mask. Two families of classes:
 *
 * - `distinct` (default): four textures (woven, grain, grid, leather) and three objects
 *   (washer, screw, pill) that are easy to tell apart;
 * - `confusable`: eleven classes sharing low-level statistics (weaves at nearby pitch, wood
 *   grains, slot vs cross screw heads, one- vs two-hole discs, plain vs printed pills, a
 *   shared table), with a `confusability` level from 0 (distinct) to 1 (near-duplicates);
 *   `foreign_class` patches come from the nearest class. {@link DEFAULT_CONFUSABILITY} is the
 *   level at which the shipped backbone's features separate the classes clearly below
 *   perfectly (see measure.ts).
 *
 * @example
 * ```ts ignore
 * import { DEFAULT_CONFUSABILITY, ensureSynthDataset } from "./mod.ts";
 * const { dataset, generated } = await ensureSynthDataset(".cache/synth", { size: 64 });
 * const hard = await ensureSynthDataset(".cache/synth-confusable", {
 *   family: "confusable",
 *   confusability: DEFAULT_CONFUSABILITY,
 * });
 * ```
 * @module
 */

export {
  DEFAULT_SYNTH_OPTIONS,
  diffSynthParams,
  ensureSynthDataset,
  generateSynthDataset,
  readSynthManifest,
  resolveSynthParams,
  sameSynthParams,
  SYNTH_FORMAT,
  SYNTH_VERSION,
  synthDatasetFromManifest,
} from "./generate.ts";
export type {
  SynthClassInfo,
  SynthDatasetInfo,
  SynthManifest,
  SynthManifestEntry,
  SynthOptions,
  SynthParams,
} from "./generate.ts";
export { renderSynthSample, sampleKey } from "./sample.ts";
export type { SynthSample, SynthSampleRequest } from "./sample.ts";
export { getSynthClass, SYNTH_CLASS_NAMES, SYNTH_CLASSES } from "./classes.ts";
export {
  CONFUSABLE_CLASS_NAMES,
  confusableClasses,
  confusableDesignDistance,
  DEFAULT_CONFUSABILITY,
  nearestConfusableClass,
  requireConfusability,
} from "./confusable.ts";
export {
  familyClassNames,
  requireFamily,
  SYNTH_FAMILIES,
  synthCacheDir,
  synthFamily,
} from "./family.ts";
export type { SynthFamily, SynthFamilyName } from "./family.ts";
export type { DefectType, SynthClass, SynthKind } from "./scene.ts";
