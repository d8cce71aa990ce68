/**
 * The WebGPU loss read-back bug of issue 7, reproduced and checked.
 *
 * 1. The TF.js bug, alone: `tf.addN` of more than 7 tensors on TF.js WebGPU 4.22 (the device has
 *    WebGPU's default 8 storage buffers per shader stage; AddN binds every input and the output)
 *    fails pipeline validation without throwing. Its result keeps a stale pooled buffer, and the
 *    command buffer it was recorded in is dropped, with a read-back copy recorded after it: that
 *    read returns zeros (a fresh staging buffer) or an earlier read's value. Printed per input
 *    count: `tf.addN`, `addN` from `lib/backend/add_n.ts` and the device errors.
 * 2. The trainer: a few steps of RD (+ CCL with `--ccl`) on a fixed random batch on wasm and
 *    webgpu, printing every named loss and the gradient norm. Before the fix, the gradient norm
 *    (one `tf.addN` over all gradients) hit the bug, and the first loss read after it (`method`)
 *    came back as 0 or a stale value.
 *
 * ```sh
 * deno run -A bench/webgpu_loss_readback.ts [--steps 3] [--ccl] [--clip 1] [--size 32]
 * ```
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "@std/cli";
import { addN } from "../lib/backend/add_n.ts";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { takeWebGpuErrors, watchWebGpuErrors } from "../lib/backend/webgpu_errors.ts";
import { loadBackbone } from "../lib/backbones/registry.ts";
import { cclObjective } from "../lib/ccl/ccl_objective.ts";
import { methodObjective } from "../lib/methods/objective.ts";
import { createMethod } from "../lib/methods/registry.ts";
import { createTrainer } from "../lib/methods/trainer.ts";
import { mulberry32, randomNormal } from "../lib/util/random.ts";

const args = parseArgs(Deno.args, {
  string: ["steps", "size", "backends", "clip"],
  boolean: ["ccl"],
  default: { steps: "3", size: "32", backends: "wasm,webgpu", clip: "0" },
});

function tensor(shape: number[], seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b);
  return tf.tensor4d(Float32Array.from({ length: n }, () => randomNormal(rng)), shape as never);
}

/** Part 1: sums of 1..n on webgpu through tf.addN and through our addN. */
async function addNOnWebGpu(): Promise<void> {
  await selectBackend({ requested: "webgpu", log: false });
  watchWebGpuErrors();
  for (const count of [7, 8, 9, 12]) {
    const terms = Array.from({ length: count }, (_, i) => tf.scalar(i + 1));
    const theirs = tf.addN(terms.map((t) => tf.mul(t, 1)));
    const theirValue = (await theirs.data())[0];
    const theirErrors = takeWebGpuErrors().length;
    const ours = addN(terms);
    const ourValue = (await ours.data())[0];
    console.log(
      `addN of ${count}: expected ${count * (count + 1) / 2}, tf.addN ${theirValue} ` +
        `(${theirErrors} device errors), lib/backend/add_n.ts ${ourValue} ` +
        `(${takeWebGpuErrors().length} device errors)`,
    );
    tf.dispose([theirs, ours, ...terms]);
  }
}

/** Part 2: trainer steps on each backend. */
async function trainerSteps(backendName: string): Promise<void> {
  await selectBackend({ requested: backendName, log: false });
  const size = Number(args.size);
  const backbone = await loadBackbone("small_resnet", { seed: 0 });
  const method = createMethod("rd", backbone, {}, 0);
  const ccl = args.ccl ? cclObjective(method, {}, 0) : undefined;
  const objective = ccl ?? methodObjective(method);
  const clipNorm = Number(args.clip) > 0 ? Number(args.clip) : undefined;
  const trainer = createTrainer(objective, { clipNorm });
  const images = tensor([4, size, size, 3], 1);
  const augmented = tensor([4, size, size, 3], 2);
  const classIds = Int32Array.from([0, 1, 0, 1]);
  try {
    for (let s = 0; s < Number(args.steps); s++) {
      objective.beginStep?.(s);
      const losses = await trainer.step({ images, augmented, classIds });
      console.log(backendName, s, JSON.stringify(losses), "gradNorm", trainer.lastGradNorm);
    }
  } finally {
    trainer.dispose();
    ccl?.dispose();
    method.dispose();
    backbone.dispose();
    tf.dispose([images, augmented]);
  }
}

if (import.meta.main) {
  const backends = args.backends.split(",");
  if (backends.includes("webgpu")) await addNOnWebGpu();
  for (const backendName of backends) await trainerSteps(backendName);
}
