/**
 * The wasm copying kernels of `lib/backend/wasm_gather_slice.ts` against the stock ones they
 * replace, at the sizes of CCL's local loss in the demo (batch 16, 64 px, first scale: 4096
 * rows of 64 channels; pixel matching on 16x16 maps padded by 1).
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { registerWasmGatherSlice } from "../lib/backend/wasm_gather_slice.ts";

await tf.setBackend("wasm");
const backend = tf.backend() as BackendWasm;
const stock = Object.fromEntries(
  [tf.GatherV2, tf.Slice, tf.SplitV, tf.Pack].map((name) => [name, tf.getKernel(name, "wasm")!]),
);
registerWasmGatherSlice();
const ours = Object.fromEntries(
  [tf.GatherV2, tf.Slice, tf.SplitV, tf.Pack].map((name) => [name, tf.getKernel(name, "wasm")!]),
);

const rows = tf.randomNormal([4096, 64], 0, 1, "float32", 1);
const indices = tf.tensor1d(
  Int32Array.from({ length: 4096 }, (_, i) => (i * 7919) % 4096),
  "int32",
);
const padded = tf.randomNormal([16, 18, 18, 64], 0, 1, "float32", 2);
const maps = Array.from({ length: 9 }, (_, i) => tf.randomNormal([16, 16, 16], 0, 1, "float32", i));

const cases: Array<[string, string, Record<string, unknown>, tf.NamedAttrMap]> = [
  ["gather 4096 rows of 64", tf.GatherV2, { x: rows, indices }, { axis: 0, batchDims: 0 }],
  ["slice 2000 of 4096 rows", tf.Slice, { x: rows }, { begin: [100, 0], size: [2000, 64] }],
  ["slice a shifted window of [16,18,18,64]", tf.Slice, { x: padded }, {
    begin: [0, 1, 2, 0],
    size: [16, 16, 16, 64],
  }],
  ["split 4096 rows in 4", tf.SplitV, { x: rows }, { numOrSizeSplits: 4, axis: 0 }],
  [
    "stack 9 maps [16,16,16] on a new last axis",
    tf.Pack,
    maps as unknown as Record<string, unknown>,
    {
      axis: -1,
    },
  ],
];

for (const [label, kernel, inputs, attrs] of cases) {
  const run = (config: tf.KernelConfig) => () => {
    const out = config.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs });
    for (const t of Array.isArray(out) ? out : [out]) backend.disposeData(t.dataId);
  };
  Deno.bench(`stock ${kernel}: ${label}`, { group: label, baseline: true }, run(stock[kernel]));
  Deno.bench(`ours ${kernel}: ${label}`, { group: label }, run(ours[kernel]));
}
