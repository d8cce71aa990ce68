/**
 * Resolves a run's data config to a dataset: a folder in a known layout, or the embedded
 * synthetic dataset generated into a cache folder on first use.
 * @module
 */
import { join } from "@std/path";
import { readDataset } from "../data/read_dataset.ts";
import { ensureSynthDataset } from "../data/synth/mod.ts";
import type { Dataset, SampleRecord } from "../data/types.ts";
import type { ExperimentConfig } from "./config.ts";

/** Where the synthetic dataset for `config` is cached. */
export function syntheticCacheDir(config: ExperimentConfig): string {
  return config.data.cacheDir ??
    join(".cache", `synth-${config.imageSize}-seed${config.data.syntheticSeed ?? 0}`);
}

/** Reads the dataset the config names (generating the synthetic one if needed). */
export async function resolveDataset(config: ExperimentConfig): Promise<Dataset> {
  const options = config.data.classes ? { classes: config.data.classes } : {};
  if (config.data.root) return await readDataset(config.data.root, options);
  const dir = syntheticCacheDir(config);
  await ensureSynthDataset(dir, { size: config.imageSize, seed: config.data.syntheticSeed ?? 0 });
  const dataset = await readDataset(dir, options);
  return { ...dataset, name: "synthetic" };
}

/** The train and test records of some classes. */
export interface ClassSplit {
  train: SampleRecord[];
  test: SampleRecord[];
}

/** Splits the records of `classes` into train and test, failing on an empty side. */
export function splitForClasses(dataset: Dataset, classes: readonly string[]): ClassSplit {
  const wanted = new Set(classes);
  const train = dataset.records.filter((r) => r.split === "train" && wanted.has(r.className));
  const test = dataset.records.filter((r) => r.split === "test" && wanted.has(r.className));
  if (train.length === 0 || test.length === 0) {
    throw new Error(
      `${dataset.root}: classes ${classes.join(", ")} have ${train.length} train and ` +
        `${test.length} test images; both must be non-empty`,
    );
  }
  return { train, test };
}
