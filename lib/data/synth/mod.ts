/**
 * The embedded default dataset of ccl-ad: a synthetic multi-class industrial anomaly dataset
 * in the MVTec AD layout, generated deterministically from a seed. Four textures (woven,
 * grain, grid, leather) and three objects (washer, screw, pill), with scratches, holes,
 * stains, cracks, missing and misplaced parts, and patches of another class's normal
 * appearance (`foreign_class`), each with an exact pixel mask.
 *
 * @example
 * ```ts ignore
 * import { ensureSynthDataset } from "./mod.ts";
 * const { dataset, generated } = await ensureSynthDataset(".cache/synth", { size: 64 });
 * ```
 * @module
 */

export {
  DEFAULT_SYNTH_OPTIONS,
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
export type { DefectType, SynthClass, SynthKind } from "./scene.ts";
