/**
 * Held-out evaluation of a pretrained backbone with its pretraining classifier, through the
 * frozen loader's code path (eval-mode BN): what is measured is exactly what ships.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FrozenResNet, type ResNetConfig, type StateDict } from "./resnet.ts";
import type { PretrainBatch } from "./pretrain_task.ts";

/** Held-out accuracy at one image size (eval-mode BN, frozen code path). */
export interface HeldOutResult {
  size: number;
  count: number;
  accuracy: number;
  loss: number;
}

/**
 * Classifies a labelled set with the frozen backbone built from `stateDict` (eval-mode BN,
 * exactly what ships) plus the `fc` head on globally pooled layer3 features.
 */
export function evaluateHeldOut(
  config: ResNetConfig,
  stateDict: StateDict,
  set: PretrainBatch,
  batchSize = 64,
): HeldOutResult {
  const fcWeight = stateDict.get("fc.weight"), fcBias = stateDict.get("fc.bias");
  if (!fcWeight || !fcBias) throw new Error("evaluateHeldOut: the state dict has no fc head");
  const backbone = new FrozenResNet(config, stateDict);
  const weight = tf.tensor2d(fcWeight.data, fcWeight.shape as [number, number]);
  const bias = tf.tensor1d(fcBias.data);
  let correct = 0, lossSum = 0;
  try {
    const pixels = set.size * set.size * 3;
    for (let start = 0; start < set.count; start += batchSize) {
      const n = Math.min(batchSize, set.count - start);
      const [c, l] = tf.tidy(() => {
        const x = tf.tensor4d(
          set.images.subarray(start * pixels, (start + n) * pixels),
          [n, set.size, set.size, 3],
        );
        const features = backbone.apply(x);
        const pooled = tf.mean(features[2], [1, 2]) as tf.Tensor2D;
        const logits = tf.add(tf.matMul(pooled, weight, false, true), bias) as tf.Tensor2D;
        const labels = tf.tensor1d(set.labels.subarray(start, start + n), "int32");
        const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "float32"));
        const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, weight.shape[0]), logits);
        return [hits.dataSync()[0], loss.dataSync()[0]];
      });
      correct += c;
      lossSum += l * n;
    }
  } finally {
    backbone.dispose();
    tf.dispose([weight, bias]);
  }
  return {
    size: set.size,
    count: set.count,
    accuracy: correct / set.count,
    loss: lossSum / set.count,
  };
}
