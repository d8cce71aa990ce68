/**
 * Datasets on disk and images in memory: readers for MVTec AD / BTAD / MPDD, VisA, Real-IAD and
 * plain folders, image and mask loading, batching, and the CCL augmented view.
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export * from "./listing.ts";
export * from "./validate.ts";
export * from "./mvtec.ts";
export * from "./visa.ts";
export * from "./real_iad.ts";
export * from "./folder.ts";
export * from "./manta.ts";
export * from "./union.ts";
export * from "./sample_sheet.ts";
export * from "./read_dataset.ts";
export * from "./image.ts";
export * from "./batches.ts";
export * from "./augment.ts";
export * from "./synth/mod.ts";
