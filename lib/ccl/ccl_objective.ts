/**
 * Class-aware contrastive learning as an {@linkcode Objective} that wraps any
 * {@linkcode AnomalyMethod}: total = method loss + λ1 L_global + λ2 L_local.
 *
 * Each step runs the method twice: on the original view with its loss, the projector and (on
 * some steps) feature noise; on the augmented view without its loss, with the projector and no
 * noise. Local CL compares the two views' dense features pixel by pixel; global CL (SupCon)
 * clusters the compact features of both views by class.
 *
 * For methods that do not accept a feature adapter (`acceptsFeatureAdapter` false: their
 * trainable part does not start from frozen features), there is no projector and no feature
 * noise: local CL acts on the method's own dense features directly.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { addN } from "../backend/add_n.ts";
// The objective is differentiated, and tfjs-core alone registers no gradient functions; the
// union package's node bundle registers them into the same engine (as lib/methods/trainer.ts).
import "../backend/register_gradients.ts";
import type {
  AnomalyMethod,
  ForwardOutput,
  Objective,
  ParameterGroup,
  Prediction,
  PredictOptions,
  TrainBatch,
} from "../methods/types.ts";
import { methodLossEntries } from "../methods/objective.ts";
import { deriveSeed, mulberry32 } from "../util/random.ts";
import { type CCLConfig, resolveCCLConfig } from "./config.ts";
import { maybeAddFeatureNoise } from "./feature_noise.ts";
import { supConLoss } from "./global_loss.ts";
import { localContrastiveLoss, type LocalScaleInputs } from "./local_loss.ts";
import { createProjector, type Projector } from "./projector.ts";

/** Name of the projector's parameter group. */
export const PROJECTOR_GROUP = "projector";

/** Prefix of the projector's variables in {@linkcode Objective.namedVariables}. */
export const PROJECTOR_PREFIX = "ccl.projector.";

/** The losses one CCL step reports; all scalars, `total` is minimised. */
export interface CCLLosses extends Record<string, tf.Scalar> {
  total: tf.Scalar;
  /** The wrapped method's own loss. */
  method: tf.Scalar;
  /** Unweighted global (SupCon) loss; 0 when disabled. */
  global: tf.Scalar;
  /** Unweighted local (dense) loss; 0 when disabled. */
  local: tf.Scalar;
}

/** The CCL objective; also owns (and frees) the projector. */
export interface CCLObjective extends Objective {
  /** The resolved settings. */
  readonly config: Readonly<CCLConfig>;
  readonly method: AnomalyMethod;
  /** The per-scale projector, absent when disabled or not accepted by the method. */
  readonly projector: Projector | undefined;
  /** Whether the last `losses` call added feature noise. */
  readonly lastStepNoisy: boolean;
  losses(batch: TrainBatch): CCLLosses;
  /**
   * What inference must pass to `method.predict`: the projector without noise (a method trained
   * on projected features is evaluated on them too), or nothing when there is no projector.
   */
  predictOptions(): PredictOptions;
  /** `method.predict(images, predictOptions())`. */
  predict(images: tf.Tensor4D): Prediction;
  /** Frees the projector (not the method). */
  dispose(): void;
}

function checkViews(batch: TrainBatch): tf.Tensor4D {
  const augmented = batch.augmented;
  if (!augmented) {
    throw new Error(
      "CCL: the batch has no `augmented` view; the data pipeline must add one when " +
        "`objective.needsAugmentedView` is true",
    );
  }
  if (augmented.shape.some((size, axis) => size !== batch.images.shape[axis])) {
    throw new RangeError(
      `CCL: augmented view ${JSON.stringify(augmented.shape)} differs from images ${
        JSON.stringify(batch.images.shape)
      }`,
    );
  }
  if (batch.classIds.length !== batch.images.shape[0]) {
    throw new RangeError(
      `CCL: ${batch.classIds.length} class ids for a batch of ${batch.images.shape[0]} images`,
    );
  }
  return augmented;
}

function checkOutput(method: AnomalyMethod, output: ForwardOutput, view: string): void {
  const where = `CCL: ${method.name}.forward (${view} view)`;
  if (output.dense.length !== output.matching.length) {
    throw new RangeError(
      `${where} returned ${output.dense.length} dense but ${output.matching.length} matching scales`,
    );
  }
  if (output.dense.length === 0) throw new RangeError(`${where} returned no dense features`);
}

/**
 * Wraps `method` with class-aware contrastive learning.
 *
 * @param method the method to train; its `frozenChannels` size the projector
 * @param config CCL settings over {@linkcode DEFAULT_CCL_CONFIG} (validated)
 * @param seed seeds the projector's weights and every per-step random choice
 *
 * @example
 * ```ts ignore
 * import { cclObjective } from "./ccl_objective.ts";
 * const objective = cclObjective(rdMethod, { window: 3 }, 0);
 * const { value, grads } = tf.variableGrads(() => objective.losses(batch).total);
 * ```
 */
export function cclObjective(
  method: AnomalyMethod,
  config: Partial<CCLConfig> | Record<string, unknown> = {},
  seed = 0,
): CCLObjective {
  const settings = Object.freeze(resolveCCLConfig(config, `CCL config of ${method.name}`));
  const projector = settings.enableProjector && method.acceptsFeatureAdapter
    ? createProjector(method.frozenChannels, deriveSeed(seed, "ccl.projector"), {
      leakySlope: settings.projectorLeakySlope,
    })
    : undefined;
  let noiseRng = mulberry32(deriveSeed(seed, "ccl.noise"));
  let pairRng = mulberry32(deriveSeed(seed, "ccl.local"));
  let lastStepNoisy = false;

  const project = (frozen: tf.Tensor4D[]) => projector!.apply(frozen);
  const projectWithNoise = (frozen: tf.Tensor4D[]) => {
    const result = maybeAddFeatureNoise(projector!.apply(frozen), {
      probability: settings.noiseProbability,
      fraction: settings.noiseFraction,
      std: settings.noiseStd,
    }, noiseRng);
    lastStepNoisy = result.applied;
    return result.features;
  };

  function losses(batch: TrainBatch): CCLLosses {
    const augmented = checkViews(batch);
    // The tidy frees intermediates when called outside a gradient tape (inside one, TF.js keeps
    // what the backward pass needs).
    return tf.tidy(() => stepLosses(batch, augmented));
  }

  function stepLosses(batch: TrainBatch, augmented: tf.Tensor4D): CCLLosses {
    lastStepNoisy = false;
    const useNoise = projector !== undefined && settings.enableNoise;
    const original = method.forward(batch, {
      computeLoss: true,
      adaptFeatures: projector ? (useNoise ? projectWithNoise : project) : undefined,
    });
    if (!original.loss) {
      throw new Error(`CCL: ${method.name}.forward returned no loss with computeLoss: true`);
    }
    checkOutput(method, original, "original");
    const needsSecondView = settings.enableGlobal || settings.enableLocal;
    const other = needsSecondView
      ? method.forward({ images: augmented, classIds: batch.classIds }, {
        computeLoss: false,
        adaptFeatures: projector ? project : undefined,
      })
      : undefined;
    if (other) checkOutput(method, other, "augmented");

    const local = settings.enableLocal && other
      ? localContrastiveLoss(
        original.dense.map((query, s): LocalScaleInputs => ({
          query,
          key: other.dense[s],
          queryMatching: original.matching[s],
          keyMatching: other.matching[s],
        })),
        batch.classIds,
        {
          temperature: settings.temperatureLocal,
          window: settings.window,
          sameClassPositive: settings.sameClassPositive,
        },
        pairRng,
      )
      : tf.scalar(0);
    const global = settings.enableGlobal && other
      ? supConLoss(
        tf.concat([original.compact, other.compact], 0),
        Int32Array.from([...batch.classIds, ...batch.classIds]),
        settings.temperatureGlobal,
      )
      : tf.scalar(0);
    const total = addN([
      original.loss,
      tf.mul(global, settings.lambdaGlobal),
      tf.mul(local, settings.lambdaLocal),
    ]) as tf.Scalar;
    // The method's terms under the same keys as without CCL (`method`, `method.<term>`).
    return { ...methodLossEntries(method, original), total, method: original.loss, global, local };
  }

  return {
    name: `${method.name}+ccl`,
    needsAugmentedView: true,
    config: settings,
    method,
    projector,
    get lastStepNoisy() {
      return lastStepNoisy;
    },
    parameterGroups(): ParameterGroup[] {
      const groups = method.parameterGroups();
      if (!projector) return groups;
      if (groups.some((group) => group.name === PROJECTOR_GROUP)) {
        throw new Error(`CCL: ${method.name} already has a parameter group "${PROJECTOR_GROUP}"`);
      }
      return [...groups, {
        name: PROJECTOR_GROUP,
        variables: projector.variables(),
        learningRate: settings.projectorLearningRate,
      }];
    },
    losses,
    beginStep(step: number) {
      noiseRng = mulberry32(deriveSeed(seed, `ccl.noise/${step}`));
      pairRng = mulberry32(deriveSeed(seed, `ccl.local/${step}`));
    },
    predictOptions: () => (projector ? { adaptFeatures: project } : {}),
    compactFeatures(images) {
      return method.compactFeatures(images, projector ? { adaptFeatures: project } : {});
    },
    predict(images) {
      return method.predict(images, projector ? { adaptFeatures: project } : {});
    },
    namedVariables() {
      const named = new Map(method.namedVariables());
      if (projector) {
        for (const [name, variable] of projector.namedVariables(PROJECTOR_PREFIX)) {
          if (named.has(name)) throw new Error(`CCL: variable name "${name}" used twice`);
          named.set(name, variable);
        }
      }
      return named;
    },
    dispose() {
      projector?.dispose();
    },
  };
}
