/**
 * A stream of pretraining batches, generated on a worker thread when possible so that drawing
 * images overlaps with training (wasm runs on one core). The stream is the same, batch for
 * batch, with or without the worker: both draw from one seeded generator in order.
 * @module
 */
import { makePretrainBatch, type PretrainBatch } from "./pretrain_task.ts";
import { mulberry32 } from "../util/random.ts";

/** What a stream produces. */
export interface BatchStreamOptions {
  seed: number;
  batchSize: number;
  /** Image sides drawn uniformly per batch. */
  sizes: readonly number[];
  /** Batches generated ahead on the worker (default 2); 0 generates in this thread. */
  prefetch?: number;
}

/** Draws the next batch: a size, then the images, from one generator. */
export function drawTrainingBatch(
  rng: () => number,
  batchSize: number,
  sizes: readonly number[],
): PretrainBatch {
  const size = sizes[Math.floor(rng() * sizes.length)];
  return makePretrainBatch(batchSize, size, rng);
}

/** Request and reply of the worker protocol. */
export type WorkerRequest =
  | { type: "start"; seed: number; batchSize: number; sizes: number[] }
  | { type: "next" };

/** Pretraining batches in a fixed order; call {@linkcode BatchStream.close} when done. */
export class BatchStream {
  #options: BatchStreamOptions;
  #rng?: () => number;
  #worker?: Worker;
  #pending: ((batch: PretrainBatch) => void)[] = [];
  #ready: Promise<PretrainBatch>[] = [];
  #failure?: Error;

  constructor(options: BatchStreamOptions) {
    this.#options = options;
    const prefetch = options.prefetch ?? 2;
    if (prefetch > 0 && typeof Worker !== "undefined") {
      this.#worker = new Worker(new URL("./pretrain_worker.ts", import.meta.url), {
        type: "module",
      });
      this.#worker.onmessage = (event: MessageEvent<PretrainBatch>) => {
        this.#pending.shift()?.(event.data);
      };
      this.#worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        this.#failure = new Error(`pretraining batch worker failed: ${event.message}`);
      };
      const start: WorkerRequest = {
        type: "start",
        seed: options.seed,
        batchSize: options.batchSize,
        sizes: [...options.sizes],
      };
      this.#worker.postMessage(start);
      for (let i = 0; i < prefetch; i++) this.#request();
    } else {
      this.#rng = mulberry32(options.seed);
    }
  }

  #request(): void {
    this.#ready.push(new Promise((resolve) => this.#pending.push(resolve)));
    this.#worker!.postMessage({ type: "next" } satisfies WorkerRequest);
  }

  /** The next batch of the stream. */
  async next(): Promise<PretrainBatch> {
    if (this.#failure) throw this.#failure;
    if (!this.#worker) {
      return drawTrainingBatch(this.#rng!, this.#options.batchSize, this.#options.sizes);
    }
    this.#request();
    const batch = await this.#ready.shift()!;
    if (this.#failure) throw this.#failure;
    return batch;
  }

  /** Stops the worker. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
