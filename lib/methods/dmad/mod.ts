/**
 * DMAD, Diversity-Measurable Anomaly Detection (Liu et al., CVPR 2023), in its
 * feature-reconstruction form on the RD skeleton ("DMAD-PPDM" of the official code).
 *
 * Read against the official code: github.com/FlappyPeggy/DMAD, commit
 * b3fefbb93144c551ef84338b5f94def3cf0620c4, `DMAD-PPDM/` (Train_mvtec.py, resnet.py, test.py).
 *
 * Follows the official code:
 * - Pyramid *pre*-deformation: an offset network on the input image (two CoordConv 3x3 + BN +
 *   ReLU at full resolution, 64 channels, CoordConv cell 4; a residual block + BN; its output
 *   concatenated with the stem's) predicts a coarse field (three stride-2 stages, 1/8
 *   resolution, tanh · 2·8/256) and a fine field (one stage, 1/2, tanh · 2·3/256), upsampled
 *   bilinearly (align_corners) to the image. The image is warped by the coarse field, then the
 *   fine one (grid clamped to the image), and the frozen encoder sees the warped image; its
 *   gradient reaches the offsets through the frozen encoder. Two more heads predict the
 *   inverse fields.
 * - Memory: a vector quantiser with 200 codewords (init uniform ±1/200) on the deepest encoder
 *   map, straight-through, loss 0.25 · commitment + codebook term. Bottleneck: each scale
 *   reduced to c1/4 channels (64 for WRN-50; 3x3 conv + BN + ReLU), scales 1 and 2 brought to
 *   stride 16 by stride-2 convs, concatenated with the quantised map (3·c1/4 + c3 channels),
 *   then RD's residual fusion blocks; RD's decoder; RD's loss on the warped image's features.
 * - Loss = RD loss + mean |coarse| + mean |fine| + smoothness of all four fields (|centre -
 *   mean of 8 neighbours| summed over the two channels, zero padding, mean) + 1 · MSE(input,
 *   inverse-warped warped input) + VQ loss; all weights 1, fields in normalised grid units.
 *   Logged as `method.reconstruction`, `method.magnitude`, `method.smoothness`,
 *   `method.inverse`, `method.vq`.
 * - Optimiser: AdamW, betas (0.5, 0.999), weight decay 0.01, lr 5e-3, over offset network,
 *   bottleneck (with the codebook) and decoder. Default init of the offset network (PyTorch's).
 * - Map: per-scale 1 - cosine, upsampled, *summed* over scales (DMAD defaults `mapReduction` to
 *   "sum"), carried back to the input's frame by the inverse fields, Gaussian blur sigma 4.
 *   Diversity: |fine inverse| carried back by the coarse inverse field + |coarse inverse|,
 *   blurred sigma 4.
 *
 * Our choices (the official code leaves no per-image rule we could follow):
 * - Score = max(residual map) + w · max(diversity) / (coarse + fine bound), map = residual +
 *   w · diversity / bound, w = 0.05 (`deformationScoreWeight`). The official code min-max
 *   normalises both maxima over the *test set* before adding them (transductive), uses w = 0.2
 *   for screw, carpet and metal nut and 0.05 otherwise, and reports the larger of the AUROCs
 *   with and without the diversity. We need a per-image score and one model for all classes, so
 *   we divide by the diversity's largest possible value instead and use one weight.
 * - One model gives both image and pixel results. The official code trains two: with the VQ
 *   memory for image AUROC (`mode="sp"`) and without it (plain RD bottleneck) for pixel AUROC.
 * - sqrt of the field magnitude gets a 1e-12 epsilon (finite gradient at zero).
 * - Warping is bilinear sampling as a sum over the integer shifts within the bound (`warp.ts`):
 *   gather-free, with a hand-written gradient (checked against autodiff) so the tape keeps only
 *   its inputs; the time grows with the bound in pixels squared (17² shifts for the coarse
 *   field at 256²).
 * - The frozen encoder runs on the gradient tape (not through `applyFrozen`), since the
 *   offsets learn through it; with the full-resolution offset network this makes DMAD the most
 *   memory-hungry method here (on `wasm` at 256²: `small_resnet` fits batch 1, not 4).
 * - CCL adapter (as RD, since DMAD shares its trainable entry point): local term on `dense`,
 *   the projector-adapted encoder maps of the *warped* image that the bottleneck consumes
 *   (pixels matched across views on the raw maps); global term on the pooled bottleneck
 *   embedding. The VQ quantises the adapted deepest map; the decoder reconstructs the raw
 *   encoder maps of the warped image. The augmented view is warped by the offset network too.
 *
 * Differs from the official code, and why:
 * - Learning rate: cosine annealing to 0 as the official code, but per optimiser step over the
 *   whole training rather than per epoch (T_max = epochs): the trainer's schedules are
 *   functions of the step.
 * - Epochs and batch size are the runner's: official 400 epochs (a comment suggests stopping
 *   at 200), batch 8; the CCL paper trains DMAD 200 epochs, batch 16.
 * - Per-scale upsampling of the residual uses RD's `rdAnomalyMap` (half-pixel centres); the
 *   official code upsamples with align_corners=True.
 * - The paper's video form (PDM deforming the *reconstruction*, `DMAD-PDM/`) is not this one;
 *   an earlier version of this room warped the decoder's features that way, and used a
 *   softmax-attention memory: both replaced by the official feature-reconstruction design.
 * @module
 */
export * from "./config.ts";
export * from "./warp.ts";
export * from "./memory.ts";
export * from "./bottleneck.ts";
export * from "./deformation.ts";
export * from "./anomaly_map.ts";
export * from "./dmad.ts";
