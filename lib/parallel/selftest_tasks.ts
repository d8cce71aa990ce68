/**
 * Small task functions for checking the pool: the doc examples and `tests/parallel_test.ts`
 * run them in workers and inline and compare.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import "../backend/register_gradients.ts";
import { createOptimizer } from "../optim/mod.ts";
import { mulberry32, randomNormal } from "../util/random.ts";
import type { TaskContext } from "./types.ts";

/** n². */
export function square(n: number): number {
  return n * n;
}

/** Throws, to check that a task's error reaches the caller with its message. */
export function fail(message: string): never {
  throw new Error(message);
}

/**
 * Fits a seeded linear map with Adam on `wasm` for `steps` steps, printing one line per step
 * and emitting the loss; returns the final weights. Same seed, same numbers, wherever it runs.
 */
export async function seededFit(
  args: { seed: number; steps: number },
  context: TaskContext,
): Promise<{ weights: Float32Array; losses: number[] }> {
  await tf.setBackend("wasm");
  const rng = mulberry32(args.seed);
  const data = (n: number) => Float32Array.from({ length: n }, () => randomNormal(rng));
  const x = tf.tensor2d(data(64 * 8), [64, 8]);
  const y = tf.tensor2d(data(64 * 4), [64, 4]);
  const w = tf.variable(tf.tensor2d(data(32), [8, 4]), true, `selftest/w${args.seed}`);
  const optimizer = createOptimizer({ kind: "adam", learningRate: 0.05 }, [w]);
  const losses: number[] = [];
  try {
    for (let step = 0; step < args.steps; step++) {
      if (context.signal.aborted) throw new Error("aborted");
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as tf.Scalar,
        [w],
      );
      optimizer.applyGradients(grads);
      const loss = (await value.data())[0];
      tf.dispose([value, ...Object.values(grads)]);
      losses.push(loss);
      console.log(`seed ${args.seed} step ${step + 1}/${args.steps} loss ${loss.toFixed(4)}`);
      context.emit({ step, loss });
    }
    return { weights: (await w.data()) as Float32Array, losses };
  } finally {
    optimizer.dispose();
    tf.dispose([x, y, w]);
  }
}

/** Waits `ms` milliseconds, then returns `ms` (to check scheduling order). */
export async function sleep(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}
