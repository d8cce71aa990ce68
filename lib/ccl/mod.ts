/**
 * Class-aware contrastive learning (CCL, Fan et al. 2024) as a wrapper over any anomaly-detection
 * method: a per-scale projector with feature noise, a local (pixel) contrastive loss across an
 * augmented view with different-class negatives, a global supervised contrastive loss over
 * compact features, and the class ids (true or pseudo) that supervise them.
 *
 * Where this follows the released RD+CCL code and where it departs from it:
 * - Projector: conv 3x3 C -> C/2 -> C/4 -> C/2 -> C, each + InstanceNorm (no affine, eps 1e-5)
 *   + LeakyReLU with PyTorch's default slope 0.01 (the code's `nn.LeakyReLU()`; configurable).
 *   The convs have no bias: the instance norm after each removes any bias exactly.
 * - Feature noise: the code's step coin is `randn > 0.5`, i.e. p = 0.31; its mask draws each
 *   position with p 0.5, here exactly half of the positions of each image get noise. The noise
 *   reaches the local loss too (the code adds it in place to the features the loss reads).
 * - Local CL: the code searches the whole map for the match (`window: 0`); the default here is
 *   the paper's 3 x 3 window. Positive and negative keys come from the augmented view, as in the
 *   code; the negative image is drawn per scale. The per-pixel term is computed as
 *   softplus((neg - pos) / T) (the code's +1e-6 inside the log is left out). A batch of one class
 *   gives 0, as in the code. `sameClassPositive` (the paper's extra positive, absent from the
 *   code) matches each pixel in the augmented view of another same-class image and averages the
 *   two binary terms.
 * - Global CL: SupCon as in Khosla et al. (self-similarity out of the denominator, mean over
 *   each anchor's positives, then over anchors); the code keeps self-similarity in the
 *   denominator and averages over all positive pairs at once.
 *
 * @example
 * ```ts ignore
 * import { cclObjective, classIdsFromNames } from "./mod.ts";
 * const objective = cclObjective(method, { window: 3 }, 0);
 * const losses = objective.losses({ images, augmented, classIds: classIdsFromNames(names) });
 * ```
 * @module
 */
export { type CCLConfig, DEFAULT_CCL_CONFIG, resolveCCLConfig } from "./config.ts";
export {
  type CCLLosses,
  type CCLObjective,
  cclObjective,
  PROJECTOR_GROUP,
  PROJECTOR_PREFIX,
} from "./ccl_objective.ts";
export {
  createProjector,
  type Projector,
  type ProjectorOptions,
  projectorWidths,
} from "./projector.ts";
export {
  type FeatureNoiseOptions,
  type FeatureNoiseResult,
  maybeAddFeatureNoise,
  spatialNoiseMask,
} from "./feature_noise.ts";
export {
  drawLocalPairs,
  localContrastiveLoss,
  localLossFromPairs,
  type LocalLossOptions,
  type LocalPairs,
  type LocalScaleInputs,
  type PositiveRows,
} from "./local_loss.ts";
export { supConLoss } from "./global_loss.ts";
export { matchPixels, windowOffsets } from "./pixel_matching.ts";
export { NO_PARTNER, pickDifferentClass, pickSameClass } from "./pairing.ts";
export { gatherRows, l2NormalizeLastAxis } from "./ops.ts";
export {
  classIdsFromNames,
  classIdsFromPseudoLabels,
  type ClassIndex,
  classIndexFromNames,
  parsePseudoLabels,
  readPseudoLabels,
} from "./labels.ts";
