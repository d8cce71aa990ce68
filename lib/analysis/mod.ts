/**
 * Analyses of trained models: how much they confuse classes. Cluster scores (V-measure, NMI,
 * ARI, purity, Hungarian mapping), 2-D embeddings (PCA, UMAP), reconstruction confusion against
 * class prototypes, per-class metric deltas between runs, and `analyseRun`, which writes it all
 * beside a run (`deno task confusion`).
 * @module
 */
export * from "./class_clustering.ts";
export * from "./cluster_scores.ts";
export * from "./hungarian.ts";
export * from "./pca.ts";
export * from "./embedding.ts";
export * from "./reconstruction_confusion.ts";
export * from "./model_features.ts";
export * from "./metric_deltas.ts";
export * from "./trained_run.ts";
export * from "./confusion_analysis.ts";
export * from "./run_overlays.ts";
export * from "./demo_plots.ts";
