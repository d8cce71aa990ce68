/**
 * The JSON-serialisable experiment configuration that drives training and evaluation.
 * @module
 */
import { defaultRunName, runNameProblem } from "./run_name.ts";
import { STRATEGIES } from "./strategies.ts";
import { configShapeProblems, pluginProblems } from "./validate_config.ts";

/**
 * How classes are trained: one model per class, one for all classes at once, or one trained on
 * the classes one after another (`sequential`; `continual` adds replay). See `strategies.ts`.
 */
export type Strategy = "per-class" | "joint" | "sequential" | "continual";

/** Where the images come from. */
export interface DataConfig {
  /**
   * A dataset folder in a known layout (MVTec AD / BTAD / MPDD, VisA, Real-IAD). Absent: the
   * embedded synthetic dataset, generated into `cacheDir` on first use.
   */
  root?: string;
  /** Only these classes (default: all). */
  classes?: string[];
  /** Where the synthetic dataset is cached (default `.cache/synth-<size>-<seed>`). */
  cacheDir?: string;
  /** Seed of the synthetic dataset (default 0; independent of the training seed). */
  syntheticSeed?: number;
}

/** Class-aware contrastive learning options; see `lib/ccl` for each field's meaning. */
export type CCLOptions = Record<string, unknown>;

/** Everything that defines a run. Saved verbatim in `metrics.json`. */
export interface ExperimentConfig {
  /**
   * Run name: results go to `results/<name>/`; one plain folder name. Default: made of method,
   * strategy and CCL (e.g. `rd-joint-ccl`), so different runs do not share a folder.
   */
  name: string;
  /** Method plug-in name (`rd`). */
  method: string;
  /** Method-specific settings (see the method's config type); merged over its defaults. */
  methodOptions: Record<string, unknown>;
  /** CCL settings, or `null` for the method alone. */
  ccl: CCLOptions | null;
  /** Supervision for CCL: the dataset's class names, or a pseudo-label JSON file. */
  labels: "class" | { pseudoLabels: string };
  strategy: Strategy;
  data: DataConfig;
  /** Square input size in pixels. */
  imageSize: number;
  /** Backbone spec: `small_resnet`, `small_resnet:random`, `resnet18:PATH`, `wide_resnet50_2:PATH`. */
  backbone: string;
  epochs: number;
  /**
   * Images per step. An epoch takes floor(n / batchSize) full batches of a fresh shuffle: the
   * n mod batchSize images left over (fewer than one batch) sit out that epoch, a different
   * set each epoch, so every image is used over the run. A unit with at most batchSize images
   * trains on all of them in one batch.
   */
  batchSize: number;
  /**
   * Learning rate of the method's main parameter group (RD: bottleneck + decoder), or `null`
   * for the method's own default. `methodOptions.learningRate`, when given, takes precedence.
   */
  learningRate: number | null;
  /**
   * Global gradient-norm clip, or 0 for none. When a config leaves it out, a CCL run clips at
   * {@linkcode CCL_CLIP_NORM} (the paper's setting) and any other run does not clip.
   */
  clipNorm: number;
  /** Evaluate on the test set every N epochs (0: only at the end). */
  evalEvery: number;
  seed: number;
  /** `auto` or a backend name (see `lib/backend`). */
  backend: string;
  /**
   * A folder of texture images (searched recursively; PNG, JPEG, BMP) that DRAEM and DeSTSeg
   * paste into their synthetic anomalies instead of procedural textures (DTD's images in the
   * originals), relative to the working directory like `data.root`; `null`: procedural. Only for
   * methods that synthesise anomalies. The folder's content is part of the config fingerprint.
   */
  textures: string | null;
}

/** Defaults: RD joint on the embedded synthetic dataset with the shipped small backbone. */
export const DEFAULT_CONFIG: ExperimentConfig = {
  name: "rd-joint",
  method: "rd",
  methodOptions: {},
  ccl: null,
  labels: "class",
  strategy: "joint",
  data: {},
  imageSize: 64,
  backbone: "small_resnet",
  epochs: 20,
  batchSize: 16,
  learningRate: null,
  clipNorm: 0,
  evalEvery: 0,
  seed: 0,
  backend: "auto",
  textures: null,
};

/** The gradient-norm clip of a CCL run whose config does not set `clipNorm` (SPEC: "clip 5"). */
export const CCL_CLIP_NORM = 5;

/** A partial config as read from JSON or built from flags. */
export type PartialConfig = Partial<Omit<ExperimentConfig, "data">> & {
  data?: Partial<DataConfig>;
};

/**
 * Merges `partial` over the defaults and validates the result. Unknown keys are errors; a
 * missing `name` is derived from method, strategy and CCL.
 */
export function resolveConfig(partial: PartialConfig, base = DEFAULT_CONFIG): ExperimentConfig {
  const shape = configShapeProblems(partial, base);
  if (shape.length) throw new Error(`invalid experiment config:\n  ${shape.join("\n  ")}`);
  const config: ExperimentConfig = {
    ...base,
    ...partial,
    data: { ...base.data, ...partial.data },
    methodOptions: { ...base.methodOptions, ...partial.methodOptions },
  };
  if (partial.name === undefined) config.name = defaultRunName(config);
  if (partial.clipNorm === undefined && config.ccl !== null) config.clipNorm = CCL_CLIP_NORM;
  validateConfig(config);
  return config;
}

/** Throws a clear error naming every invalid field. */
export function validateConfig(config: ExperimentConfig): void {
  const problems: string[] = [];
  const positiveInteger = (key: keyof ExperimentConfig) => {
    const value = config[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      problems.push(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  };
  positiveInteger("epochs");
  positiveInteger("batchSize");
  positiveInteger("imageSize");
  // The image size a method can take is checked with the method (validate_config.ts).
  if (!(STRATEGIES as readonly string[]).includes(config.strategy)) {
    problems.push(
      `strategy must be one of ${STRATEGIES.join(", ")}, got ${JSON.stringify(config.strategy)}`,
    );
  }
  if (config.learningRate !== null && !(config.learningRate > 0)) {
    problems.push(`learningRate must be > 0 or null (the method's default)`);
  }
  if (!(config.clipNorm >= 0)) problems.push(`clipNorm must be >= 0`);
  if (!Number.isInteger(config.evalEvery) || config.evalEvery < 0) {
    problems.push(`evalEvery must be an integer >= 0`);
  }
  if (!Number.isInteger(config.seed)) problems.push(`seed must be an integer`);
  const nameProblem = runNameProblem(config.name);
  if (nameProblem) problems.push(nameProblem);
  if (config.labels !== "class" && typeof config.labels?.pseudoLabels !== "string") {
    problems.push(`labels must be "class" or {"pseudoLabels": "<file.json>"}`);
  }
  problems.push(...pluginProblems(config));
  if (problems.length) throw new Error(`invalid experiment config:\n  ${problems.join("\n  ")}`);
}
