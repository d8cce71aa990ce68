/**
 * `Conv2DBackpropInput` for the `wasm` backend (also the forward pass of
 * `tf.conv2dTranspose`), computed by its fast forward `Conv2D`.
 *
 * With stride 1 the input gradient is a conv of dY with the filter rotated 180 degrees and
 * its channel axes swapped. With stride s it splits into s*s output phases, each such a
 * stride-1 conv with a subset of the taps (see `wasm_conv_phase_plan.ts`), and the phases
 * are interleaved by one transpose (the stock `DepthToSpace` is many times slower).
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  assertDyShape,
  assertSupported,
  type ConvGradAttrs,
  forwardConvInfo,
  requireFloat4d,
  type Shape4,
} from "./wasm_conv_checks.ts";
import {
  type AxisPhase,
  type AxisPlan,
  fusingShift,
  phasesAlign,
  planAxis,
} from "./wasm_conv_phase_plan.ts";
import { gatherPhaseFilters } from "./wasm_conv_phase_filters.ts";
import { WasmKernelScope } from "./wasm_kernel_scope.ts";

const FILE = "lib/backend/wasm_conv_backprop_input.ts";

/** Attributes of TF.js's `Conv2DBackpropInput` kernel. */
export interface BackpropInputAttrs extends ConvGradAttrs {
  inputShape: Shape4;
}

/**
 * Kernel function for `Conv2DBackpropInput` on `wasm`: the gradient of a conv2d with respect
 * to its input, given the output gradient `dy` and the `filter` [kh, kw, ci, co].
 */
export function conv2dBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  assertSupported(FILE, "Conv2DBackpropInput", attrs);
  const dy = requireFloat4d(FILE, "dy", args.inputs.dy);
  const filter = requireFloat4d(FILE, "filter", args.inputs.filter);
  const filterShape = filter.shape;
  const inputShape = attrs.inputShape;
  if (inputShape?.length !== 4 || inputShape[3] !== filterShape[2]) {
    throw new Error(
      `${FILE}: inputShape [${inputShape}] must be NHWC with ${filterShape[2]} channels`,
    );
  }
  const info = forwardConvInfo(inputShape, filterShape, attrs);
  assertDyShape(FILE, dy.shape, info);
  const { rows, cols } = planPhases(info);

  const backend = args.backend as BackendWasm;
  const scope = new WasmKernelScope(backend);
  try {
    const phased = phasesAlign(rows) && phasesAlign(cols)
      ? fusedPhases(scope, backend, dy, filter, rows, cols)
      : separatePhases(scope, backend, dy, filter, rows, cols);
    const woven = interleave(scope, phased, rows, cols, info.inChannels);
    return scope.keep(crop(scope, woven, rows.shift, cols.shift, inputShape));
  } finally {
    scope.close();
  }
}

/**
 * Phase plans of both axes. When the strides divide the kernel, shifted phases all have the
 * same taps count and padding, so one conv computes them all (and a crop follows).
 */
function planPhases(info: tf.backend_util.Conv2DInfo): { rows: AxisPlan; cols: AxisPlan } {
  const fuse = info.filterHeight % info.strideHeight === 0 &&
    info.filterWidth % info.strideWidth === 0;
  const axis = (kernel: number, stride: number, pad: number, inSize: number, outSize: number) =>
    planAxis(kernel, stride, pad, inSize, outSize, fuse ? fusingShift(kernel, stride, pad) : 0);
  return {
    rows: axis(
      info.filterHeight,
      info.strideHeight,
      info.padInfo.top,
      info.inHeight,
      info.outHeight,
    ),
    cols: axis(info.filterWidth, info.strideWidth, info.padInfo.left, info.inWidth, info.outWidth),
  };
}

/** Every (row phase, column phase) pair, row-major: the channel order `interleave` expects. */
function phasePairs(rows: AxisPlan, cols: AxisPlan): [AxisPhase, AxisPhase][] {
  return rows.phases.flatMap((r) => cols.phases.map((c): [AxisPhase, AxisPhase] => [r, c]));
}

/** All phases have equal taps counts and padding: one conv whose output channels hold all. */
function fusedPhases(
  scope: WasmKernelScope,
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  rows: AxisPlan,
  cols: AxisPlan,
): tf.TensorInfo {
  const taps = phasePairs(rows, cols).map(([r, c]) => ({ rows: r.taps, cols: c.taps }));
  const subFilters = scope.adopt(gatherPhaseFilters(backend, filter, taps));
  return phaseConv(scope, dy, subFilters, rows.phases[0], cols.phases[0]);
}

/** Phases with different taps or padding: one conv each, stacked along channels. */
function separatePhases(
  scope: WasmKernelScope,
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  rows: AxisPlan,
  cols: AxisPlan,
): tf.TensorInfo {
  const outs = phasePairs(rows, cols).map(([r, c]) => {
    if (r.taps.length === 0 || c.taps.length === 0) {
      // The kernel is shorter than the stride: these input pixels never reach the output.
      return scope.run("Fill", [], {
        shape: [dy.shape[0], rows.rowsPerPhase, cols.rowsPerPhase, filter.shape[2]],
        value: 0,
        dtype: "float32",
      });
    }
    const sub = scope.adopt(gatherPhaseFilters(backend, filter, [{ rows: r.taps, cols: c.taps }]));
    return phaseConv(scope, dy, sub, r, c);
  });
  return outs.length === 1 ? outs[0] : scope.run("Concat", outs, { axis: 3 });
}

/** Stride-1 conv of dy for one phase; negative padding drops rows of dy first. */
function phaseConv(
  scope: WasmKernelScope,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  r: AxisPhase,
  c: AxisPhase,
): tf.TensorInfo {
  let input = dy;
  const drop = [r.padBefore, r.padAfter, c.padBefore, c.padAfter].map((p) => Math.max(-p, 0));
  if (drop.some((d) => d > 0)) {
    const [n, h, w, ch] = dy.shape;
    input = scope.run("Slice", { x: dy }, {
      begin: [0, drop[0], drop[2], 0],
      size: [n, h - drop[0] - drop[1], w - drop[2] - drop[3], ch],
    });
  }
  const pad = (p: number) => Math.max(p, 0);
  return scope.run("Conv2D", { x: input, filter }, {
    strides: [1, 1],
    dilations: [1, 1],
    pad: [[0, 0], [pad(r.padBefore), pad(r.padAfter)], [pad(c.padBefore), pad(c.padAfter)], [
      0,
      0,
    ]],
    dataFormat: "NHWC",
  });
}

/** [n, u, v, sh*sw*ci] phases -> [n, u*sh, v*sw, ci] pixels. */
function interleave(
  scope: WasmKernelScope,
  phased: tf.TensorInfo,
  rows: AxisPlan,
  cols: AxisPlan,
  inChannels: number,
): tf.TensorInfo {
  const sh = rows.stride, sw = cols.stride;
  if (sh === 1 && sw === 1) return phased;
  // Channel (i*sw + j)*ci + c of phase pixel (u, v) goes to pixel (u*sh + i, v*sw + j): seen
  // as [n*u, v, sh, sw*ci] -> [n*u, sh, v, sw*ci], a swap of two axes.
  const [n, u, v] = phased.shape;
  const split = scope.run("Reshape", { x: phased }, { shape: [n * u, v, sh, sw * inChannels] });
  const moved = scope.run("Transpose", { x: split }, { perm: [0, 2, 1, 3] });
  return scope.run("Reshape", { x: moved }, { shape: [n, u * sh, v * sw, inChannels] });
}

/** Drops the `shift` leading rows/cols and any surplus of the last stride block. */
function crop(
  scope: WasmKernelScope,
  woven: tf.TensorInfo,
  shiftRows: number,
  shiftCols: number,
  inputShape: Shape4,
): tf.TensorInfo {
  const [, h, w] = woven.shape;
  if (shiftRows === 0 && shiftCols === 0 && h === inputShape[1] && w === inputShape[2]) {
    return woven;
  }
  return scope.run("Slice", { x: woven }, {
    begin: [0, shiftRows, shiftCols, 0],
    size: inputShape,
  });
}
