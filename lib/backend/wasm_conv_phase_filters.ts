/**
 * Builds the sub-filters of a phase-split input gradient straight on the `wasm` heap: the
 * chosen taps of a [kh, kw, ci, co] filter, in correlation order, with the channel axes
 * swapped to [.., co, ci]. The stock Reverse + StridedSlice kernels cost some 0.7 ms per call
 * even on small filters, more than the convs they feed.
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The filter taps of one phase, as kernel indices in the order the conv applies them. */
export interface PhaseTaps {
  readonly rows: readonly number[];
  readonly cols: readonly number[];
}

/**
 * Returns a new float32 tensor [J, I, co, phases.length * ci]: block `q` of the last axis is
 * `filter[phases[q].rows[j], phases[q].cols[i], :, :]` transposed to [co, ci]. Every phase
 * must list J rows and I columns. The caller owns (and must dispose) the result.
 *
 * @example
 * ```ts ignore
 * // The 180-degree rotated, channel-swapped 3x3 filter of a stride-1 input gradient:
 * const rotated = gatherPhaseFilters(backend, filter, [{ rows: [2, 1, 0], cols: [2, 1, 0] }]);
 * ```
 */
export function gatherPhaseFilters(
  backend: BackendWasm,
  filter: tf.TensorInfo,
  phases: readonly PhaseTaps[],
): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const J = phases[0]?.rows.length ?? 0, I = phases[0]?.cols.length ?? 0;
  const bad = phases.find((p) =>
    p.rows.length !== J || p.cols.length !== I ||
    p.rows.some((r) => !(r >= 0 && r < kh)) || p.cols.some((c) => !(c >= 0 && c < kw))
  );
  if (filter.shape.length !== 4 || filter.dtype !== "float32" || J * I === 0 || bad) {
    throw new Error(
      `lib/backend/wasm_conv_phase_filters.ts: bad phase taps ${JSON.stringify(bad ?? phases)} ` +
        `for a ${filter.dtype} filter [${filter.shape}]`,
    );
  }
  const width = phases.length * ci;
  const out = backend.makeOutput([J, I, co, width], "float32");
  // Views taken after makeOutput: allocating may grow (and so detach) the heap.
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  phases.forEach((phase, q) => {
    for (let j = 0; j < J; j++) {
      for (let i = 0; i < I; i++) {
        const from = (phase.rows[j] * kw + phase.cols[i]) * ci * co;
        const to = (j * I + i) * co * width + q * ci;
        for (let o = 0; o < co; o++) {
          const row = to + o * width;
          for (let c = 0; c < ci; c++) dst[row + c] = src[from + c * co + o];
        }
      }
    }
  });
  return out;
}
