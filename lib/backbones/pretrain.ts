/**
 * Pretraining a backbone on the procedural task of {@linkcode makePretrainBatch}: a ResNet plus
 * a temporary linear classifier, Adam + cross-entropy, for a time or step budget, then precise
 * BN statistics and a held-out evaluation through the frozen (shipped) code path.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core registers no gradient functions (and its register_all_gradients.js cannot load under
// Deno); the union package's bundle registers them all into the same tfjs-core instance.
import "../backend/register_gradients.ts";
import type { ResNetConfig, StateDict } from "./resnet.ts";
import { evaluateHeldOut, type HeldOutResult } from "./pretrain_eval.ts";
import { type BatchStats, TrainableResNet } from "./trainable_resnet.ts";
import {
  makeHeldOutSet,
  makePretrainBatch,
  PRETRAIN_CLASSES,
  type PretrainBatch,
} from "./pretrain_task.ts";
import { BatchStream } from "./pretrain_batches.ts";
import { deriveSeed, mulberry32 } from "../util/random.ts";

/** Options of {@linkcode pretrainBackbone}. */
export interface PretrainOptions {
  config: ResNetConfig;
  seed: number;
  /** Wall-clock budget for the training steps (the schedule follows elapsed time). */
  seconds?: number;
  /** A fixed number of steps instead (the schedule follows steps; exactly reproducible). */
  steps?: number;
  batchSize?: number;
  /** Image sides drawn uniformly per batch (default [64, 64, 64, 96]). */
  sizes?: readonly number[];
  /** Peak Adam learning rate (default 2e-3), reached after a linear warm-up, then cosine decay. */
  learningRate?: number;
  /** Held-out images per evaluated size (default 1024). */
  heldOutCount?: number;
  /** Batches averaged for the final running statistics (default 16). */
  preciseBnBatches?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Seconds between progress lines (default 30). */
  logEverySeconds?: number;
}

/** One progress record. */
export interface PretrainProgress {
  step: number;
  seconds: number;
  learningRate: number;
  /** Mean training loss / accuracy since the previous record (training-mode BN). */
  loss: number;
  accuracy: number;
}

/** What {@linkcode pretrainBackbone} returns. */
export interface PretrainResult {
  /** Backbone parameters (torchvision names) plus the classifier as `fc.weight`/`fc.bias`. */
  stateDict: StateDict;
  steps: number;
  images: number;
  trainSeconds: number;
  /** Training loss/accuracy over the last 10% of steps (training-mode BN). */
  finalTrainLoss: number;
  finalTrainAccuracy: number;
  heldOut: HeldOutResult[];
  history: PretrainProgress[];
  classes: readonly string[];
}

/** Adam whose learning rate can follow a schedule. */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** Linear warm-up over the first 3%, then cosine decay to 2% of the peak. */
export function scheduledLearningRate(peak: number, progress: number): number {
  const warmup = 0.03;
  if (progress < warmup) return peak * Math.max(progress / warmup, 0.02);
  const t = Math.min(1, (progress - warmup) / (1 - warmup));
  return peak * (0.02 + 0.98 * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/**
 * Pretrains `options.config` on the procedural task and returns its weights and measurements.
 * Needs a backend with conv gradients (cpu; wasm once its gradient kernels are registered).
 */
export async function pretrainBackbone(options: PretrainOptions): Promise<PretrainResult> {
  const { config, seed } = options;
  if (options.seconds === undefined && options.steps === undefined) {
    throw new Error("pretrainBackbone needs a budget: seconds or steps");
  }
  const batchSize = options.batchSize ?? 32;
  const sizes = options.sizes ?? [64, 64, 64, 96];
  const peak = options.learningRate ?? 2e-3;
  const log = options.log ?? (() => {});
  const logEvery = options.logEverySeconds ?? 30;
  const model = new TrainableResNet(config, PRETRAIN_CLASSES.length, deriveSeed(seed, "init"));
  const optimizer = new ScheduledAdam(peak, 0.9, 0.999, 1e-8);
  const stream = new BatchStream({ seed: deriveSeed(seed, "train-data"), batchSize, sizes });
  const variables = model.trainableVariables();
  const history: PretrainProgress[] = [];
  const recent: { loss: number; correct: number; count: number }[] = [];
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  const progress = (step: number) =>
    options.steps !== undefined ? step / options.steps : elapsed() / options.seconds!;
  let step = 0, images = 0, lastLog = 0;
  let window = { loss: 0, correct: 0, count: 0, steps: 0 };
  try {
    while (progress(step) < 1) {
      const rate = scheduledLearningRate(peak, progress(step));
      optimizer.setLearningRate(rate);
      const batch = await stream.next();
      const { loss, correct } = trainStep(model, optimizer, variables, batch);
      step++;
      images += batchSize;
      recent.push({ loss, correct, count: batchSize });
      window = {
        loss: window.loss + loss,
        correct: window.correct + correct,
        count: window.count + batchSize,
        steps: window.steps + 1,
      };
      if (!Number.isFinite(loss)) {
        throw new Error(`pretraining diverged: loss ${loss} at step ${step}`);
      }
      if (elapsed() - lastLog >= logEvery) {
        const record = {
          step,
          seconds: Math.round(elapsed()),
          learningRate: rate,
          loss: window.loss / window.steps,
          accuracy: window.correct / window.count,
        };
        history.push(record);
        log(
          `step ${step} ${record.seconds}s lr ${rate.toExponential(2)} loss ` +
            `${record.loss.toFixed(3)} acc ${(100 * record.accuracy).toFixed(1)}% ` +
            `(${(step / elapsed()).toFixed(2)} steps/s, ${tf.memory().numTensors} tensors)`,
        );
        window = { loss: 0, correct: 0, count: 0, steps: 0 };
        lastLog = elapsed();
      }
    }
    const trainSeconds = elapsed();
    const tail = recent.slice(-Math.max(1, Math.ceil(recent.length / 10)));
    const finalTrainLoss = tail.reduce((a, r) => a + r.loss, 0) / tail.length;
    const finalTrainAccuracy = tail.reduce((a, r) => a + r.correct, 0) /
      tail.reduce((a, r) => a + r.count, 0);
    log(`${step} steps in ${trainSeconds.toFixed(0)}s; recomputing BN statistics`);
    const bnRng = mulberry32(deriveSeed(seed, "precise-bn"));
    const bnBatches = options.preciseBnBatches ?? 16;
    model.recomputeRunningStats(
      (function* () {
        for (let i = 0; i < bnBatches; i++) {
          const size = sizes[i % sizes.length];
          const batch = makePretrainBatch(batchSize, size, bnRng);
          const x = tf.tensor4d(batch.images, [batch.count, size, size, 3]);
          try {
            yield x;
          } finally {
            x.dispose();
          }
        }
      })(),
    );
    const stateDict = await model.toStateDict();
    const heldOutCount = options.heldOutCount ?? 1024;
    const heldOut = [...new Set(sizes)].sort((a, b) => a - b).map((size) =>
      evaluateHeldOut(
        config,
        stateDict,
        makeHeldOutSet(heldOutCount, size, deriveSeed(seed, `held-out-${size}`)),
      )
    );
    for (const h of heldOut) {
      log(
        `held-out ${h.size}px: accuracy ${(100 * h.accuracy).toFixed(1)}% loss ${
          h.loss.toFixed(3)
        }`,
      );
    }
    return {
      stateDict,
      steps: step,
      images,
      trainSeconds,
      finalTrainLoss,
      finalTrainAccuracy,
      heldOut,
      history,
      classes: PRETRAIN_CLASSES,
    };
  } finally {
    stream.close();
    optimizer.dispose();
    model.dispose();
  }
}

function trainStep(
  model: TrainableResNet,
  optimizer: ScheduledAdam,
  variables: tf.Variable[],
  batch: PretrainBatch,
): { loss: number; correct: number } {
  const stats: BatchStats[] = [];
  let correctTensor: tf.Scalar | undefined;
  const lossTensor = tf.tidy(() => {
    const x = tf.tensor4d(batch.images, [batch.count, batch.size, batch.size, 3]);
    const labels = tf.tensor1d(batch.labels, "int32");
    const oneHot = tf.oneHot(labels, model.numClasses);
    return optimizer.minimize(
      () => {
        const logits = model.logits(x, stats);
        correctTensor = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32")));
        return tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
      },
      true,
      variables,
    )!;
  });
  model.updateRunningStats(stats);
  const loss = lossTensor.dataSync()[0];
  const correct = correctTensor!.dataSync()[0];
  tf.dispose([lossTensor, correctTensor!]);
  return { loss, correct };
}
