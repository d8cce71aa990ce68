/**
 * DMAD, Diversity-Measurable Anomaly Detection (Liu et al., CVPR 2023), in its
 * feature-reconstruction form on the RD skeleton.
 *
 * What we followed (paper's description, as summarised in SPEC.md):
 * - RD's skeleton, imported from `../rd/` (not copied): frozen encoder -> one-class bottleneck
 *   (OCBE) -> decoder reconstructing the encoder's three feature maps; RD's cosine loss.
 * - An information-compression memory in the bottleneck: the decoder sees only an attention
 *   read-out of N trainable prototypes, so anomalous content cannot pass through it.
 * - A Pyramid Deformation Module: per scale a deformation field warps the reconstruction
 *   toward the input's features, coarse to fine, so normal diversity (position, shape) is
 *   absorbed by deformation instead of counted as residual.
 * - Score = reconstruction residual (after warping) + weighted deformation magnitude.
 *
 * What we chose (the official code was not read in detail for lack of time; these are ours):
 * - Memory: cosine-similarity softmax attention with temperature 0.1 over 50 prototypes
 *   (`memorySize`, `memoryTemperature`), MemAE's attention-entropy loss (weight 2e-4), no hard
 *   shrinkage (its gradient is awkward and softmax at a low temperature is already sparse).
 * - PDM heads: conv3x3(+bias) -> ReLU -> conv3x3 -> 2 channels, `maxOffset` · tanh, last conv
 *   zero-initialised (identity warp at the start). Inputs: target features, reconstruction and
 *   (below the coarsest scale) the coarser field upsampled 2x (nearest) and doubled; the fields
 *   condition each other rather than being summed, so each stays within ±maxOffset (2 pixels
 *   of its own scale by default).
 * - Warping is bilinear sampling written as a sum over the (2K+1)² integer shifts with hat
 *   weights (`warp.ts`): gather-free, differentiable on every backend, exact bilinear inside
 *   the window, zeros outside the map. Cost grows with K², so K is small.
 * - Loss (components logged as `method.reconstruction`, `method.deformation`,
 *   `method.entropy`): RD loss between frozen features and the *warped* reconstruction +
 *   0.1 · total variation of the fields + 0.01 · mean squared offset + 2e-4 · entropy.
 *   Without the magnitude term nothing stops the fields from growing on normal images, which
 *   would make the deformation part of the score meaningless.
 * - Map: residual as RD's (1 - cosine per pixel, upsampled, mean over scales) + 0.1 ·
 *   |offset| / maxOffset per scale (upsampled, mean), Gaussian blur sigma 4; score = max.
 * - CCL adapter (as RD, since DMAD shares its trainable entry point): local term on `dense`,
 *   the projector-adapted multi-scale features the OCBE consumes (matching pixels across views
 *   with the frozen maps); global term on the OCBE embedding pooled *before* the memory. The
 *   pre-memory embedding is what the trainable bottleneck computes from the image; the read-out
 *   after the memory is a convex combination of shared prototypes, and separating classes there
 *   is a side effect of separating them before. The decoder, memory and PDM reconstruct the raw
 *   frozen features either way.
 * @module
 */
export * from "./config.ts";
export * from "./warp.ts";
export * from "./memory.ts";
export * from "./deformation.ts";
export * from "./anomaly_map.ts";
export * from "./dmad.ts";
