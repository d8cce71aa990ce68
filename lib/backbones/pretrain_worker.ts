/**
 * Worker side of {@linkcode BatchStream}: draws pretraining batches in order and posts them back
 * (transferring the buffers).
 * @module
 */
import { drawTrainingBatch, type WorkerRequest } from "./pretrain_batches.ts";
import { mulberry32 } from "../util/random.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let state: { rng: () => number; batchSize: number; sizes: number[] } | undefined;

scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === "start") {
    state = { rng: mulberry32(request.seed), batchSize: request.batchSize, sizes: request.sizes };
    return;
  }
  if (!state) throw new Error("pretrain_worker: 'next' before 'start'");
  const batch = drawTrainingBatch(state.rng, state.batchSize, state.sizes);
  scope.postMessage(batch, [batch.images.buffer, batch.labels.buffer]);
};
