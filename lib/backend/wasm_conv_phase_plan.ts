/**
 * Index arithmetic that turns a strided transposed convolution (the input gradient of a
 * strided conv) into stride-1 convolutions, one per output phase ("sub-pixel" split).
 *
 * Along one axis, the forward conv reads input row `oy * s + k - padBefore` for output row
 * `oy` and tap `k`. Rows `y = s*u + p - shift` (phase `p`) thus collect the taps
 * `k = r + s*j` with `r = (p - shift + padBefore) mod s`, from output rows
 * `oy = u + floor((p - shift + padBefore) / s) - j`: a stride-1 correlation of `dy` with
 * those taps in reverse order. `shift = padBefore mod s` gives every phase the same offsets,
 * so when `s` divides the kernel all phases fit in one conv (at the price of cropping
 * `shift` leading rows); `shift = 0` needs no crop.
 * Zero-inserting `dy` instead would spend `s*s - 1` of every `s*s` multiplies on zeros.
 * @module
 */

/** One phase along one axis: which filter taps it uses and how to pad `dy` for it. */
export interface AxisPhase {
  /**
   * Kernel indices of this phase's taps in the order the stride-1 conv applies them
   * (descending); empty when the kernel is shorter than the stride.
   */
  readonly taps: readonly number[];
  /** Zero rows before `dy` (negative: drop that many leading rows of `dy`). */
  readonly padBefore: number;
  /** Zero rows after `dy` (negative: drop that many trailing rows of `dy`). */
  readonly padAfter: number;
}

/** How one spatial axis of an input gradient splits into stride-1 phases. */
export interface AxisPlan {
  readonly stride: number;
  /** Interleaved rows that precede input row 0 and are cropped. */
  readonly shift: number;
  /**
   * Rows each phase produces (`ceil((inSize + shift) / stride)`); phases interleave into
   * `stride * rowsPerPhase` rows, of which rows `shift .. shift + inSize - 1` are kept.
   */
  readonly rowsPerPhase: number;
  /** Phases `p = 0 .. stride-1`: phase `p` makes input rows `stride*u + p - shift`. */
  readonly phases: readonly AxisPhase[];
}

/**
 * Plans one axis of the input gradient of a conv with `kernel` taps, `stride`, the forward
 * conv's leading zero padding `padBefore`, input length `inSize` and output length `outSize`;
 * `shift` in `[0, stride)` offsets the phase grid (see the module doc).
 *
 * @example
 * ```ts
 * import { planAxis } from "./wasm_conv_phase_plan.ts";
 * // 3 taps, stride 2, 'same' on 64 rows: even rows use taps {2, 0}, odd rows tap {1}.
 * const plan = planAxis(3, 2, 0, 64, 32);
 * if (plan.phases[0].taps.join() !== "2,0" || plan.phases[1].taps.join() !== "1") {
 *   throw new Error("bad plan");
 * }
 * ```
 */
export function planAxis(
  kernel: number,
  stride: number,
  padBefore: number,
  inSize: number,
  outSize: number,
  shift = 0,
): AxisPlan {
  for (const [name, v] of Object.entries({ kernel, stride, inSize, outSize })) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`lib/backend/wasm_conv_phase_plan.ts: ${name} must be a positive integer`);
    }
  }
  if (!Number.isInteger(padBefore) || padBefore < 0) {
    throw new Error("lib/backend/wasm_conv_phase_plan.ts: padBefore must be an integer >= 0");
  }
  if (!Number.isInteger(shift) || shift < 0 || shift >= stride) {
    throw new Error("lib/backend/wasm_conv_phase_plan.ts: shift must be an integer in [0, stride)");
  }
  const rowsPerPhase = Math.ceil((inSize + shift) / stride);
  const phases: AxisPhase[] = [];
  for (let p = 0; p < stride; p++) {
    const offset = p - shift + padBefore; // >= 0 as shift <= padBefore or shift == 0
    const firstTap = offset % stride;
    const lead = Math.floor(offset / stride);
    const count = Math.max(0, Math.ceil((kernel - firstTap) / stride));
    phases.push({
      taps: Array.from({ length: count }, (_, j) => firstTap + stride * (count - 1 - j)),
      padBefore: count - 1 - lead,
      padAfter: rowsPerPhase + lead - outSize,
    });
  }
  return { stride, shift, rowsPerPhase, phases };
}

/**
 * The phase shift that lets all phases share one conv: `padBefore mod stride` when the
 * stride divides the kernel (all phases then have `kernel / stride` taps), else 0.
 */
export function fusingShift(kernel: number, stride: number, padBefore: number): number {
  return kernel % stride === 0 ? padBefore % stride : 0;
}

/** True when all phases of the axis have the same taps count and padding: one conv fits all. */
export function phasesAlign(plan: AxisPlan): boolean {
  const [first] = plan.phases;
  return plan.phases.every((p) =>
    p.taps.length === first.taps.length && p.padBefore === first.padBefore &&
    p.padAfter === first.padAfter
  );
}
