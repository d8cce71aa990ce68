/**
 * `Conv2DBackpropFilter` for the `wasm` backend: the direct SIMD kernel of
 * `wasm_conv_filter_simd.ts`, or, where the engine cannot run it (no SIMD, or the backend's
 * memory out of reach), a call to the backend's fast forward `Conv2D`:
 *
 * dW[kh, kw, ci, co] = sum over n, y, x of X[n, y*s + kh - pad, x*s + kw - pad, ci] * dY[n, y, x, co]
 *
 * is a forward convolution in which X transposed to [ci, H, W, n] is the input (a batch of
 * `ci` images with `n` channels) and dY transposed to [oh, ow, n, co] is the filter, dilated
 * by the forward stride. Its output [ci, kh, kw, co] transposes to the filter layout. X's
 * transpose is the heap loop of `wasm_heap_transpose.ts`, which the stock one trails.
 *
 * The wasm `Conv2D` transposes every new filter from [h*w*in, out] to [out, h*w*in], and its
 * transpose slows down some 30x when h*w*in is a multiple of a large power of two (every
 * write lands in the same cache set). Here h*w*in = oh*ow*n is often exactly that (64*64*8),
 * so dY gets a row and/or column of zero taps when that breaks the alignment.
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
import { conv2dBackpropFilterSimd } from "./wasm_conv_filter_simd.ts";
import { swapOuterAndInnerAxes } from "./wasm_heap_transpose.ts";
import { WasmKernelScope } from "./wasm_kernel_scope.ts";

const FILE = "lib/backend/wasm_conv_backprop_filter.ts";

/** Attributes of TF.js's `Conv2DBackpropFilter` kernel. */
export interface BackpropFilterAttrs extends ConvGradAttrs {
  filterShape: Shape4;
}

/** Arguments of a kernel function. */
interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/**
 * Kernel function for `Conv2DBackpropFilter` on `wasm`: the gradient of a conv2d with
 * respect to its filter, given the conv input `x` and the output gradient `dy`. Computed by
 * the direct SIMD kernel of `wasm_conv_filter_simd.ts` when it can run, else by
 * {@linkcode conv2dBackpropFilterViaConv2D}.
 */
export function conv2dBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  return backpropFilter(args, true);
}

/** The same gradient always through the stock forward `Conv2D` (see the module doc). */
export function conv2dBackpropFilterViaConv2D(args: KernelArgs): tf.TensorInfo {
  return backpropFilter(args, false);
}

function backpropFilter(args: KernelArgs, allowDirect: boolean): tf.TensorInfo {
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  assertSupported(FILE, "Conv2DBackpropFilter", attrs);
  const x = requireFloat4d(FILE, "x", args.inputs.x);
  const dy = requireFloat4d(FILE, "dy", args.inputs.dy);
  const filterShape = attrs.filterShape;
  if (filterShape?.length !== 4 || filterShape[2] !== x.shape[3]) {
    throw new Error(`${FILE}: filterShape [${filterShape}] must be [kh, kw, ${x.shape[3]}, co]`);
  }
  const [kh, kw] = filterShape;
  const info = forwardConvInfo(x.shape, filterShape, attrs);
  assertDyShape(FILE, dy.shape, info);

  // Zero rows after X so that exactly kh output rows come out; a negative count means
  // the forward conv never read X's last rows, so the extra outputs are cropped instead.
  const after = (k: number, out: number, stride: number, size: number, before: number) =>
    k + (out - 1) * stride - size - before;
  const { top, left } = info.padInfo;
  const bottom = after(kh, info.outHeight, info.strideHeight, info.inHeight, top);
  const right = after(kw, info.outWidth, info.strideWidth, info.inWidth, left);

  const [extraRows, extraCols] = unalignedTapPadding(info.outHeight, info.outWidth, info.batchSize);

  const backend = args.backend as BackendWasm;
  const direct = allowDirect && conv2dBackpropFilterSimd(backend, x, dy, {
    ...info,
    filterHeight: kh,
    filterWidth: kw,
    padTop: top,
    padLeft: left,
  });
  if (direct) return direct;
  const scope = new WasmKernelScope(backend);
  try {
    const [n, h, w, ci] = x.shape;
    const xT = scope.run("Reshape", {
      x: scope.adopt(swapOuterAndInnerAxes(backend, x, n, h * w, ci)),
    }, { shape: [ci, h, w, n] });
    const dyPadded = extraRows + extraCols === 0 ? dy : scope.run("PadV2", { x: dy }, {
      paddings: [[0, 0], [0, extraRows], [0, extraCols], [0, 0]],
      constantValue: 0,
    });
    const dyT = scope.run("Transpose", { x: dyPadded }, { perm: [1, 2, 0, 3] });
    // Zero taps dilated by the stride reach extra*stride rows past X: pad X that much more.
    let grad = scope.run("Conv2D", { x: xT, filter: dyT }, {
      strides: [1, 1],
      dilations: [info.strideHeight, info.strideWidth],
      pad: [
        [0, 0],
        [top, Math.max(bottom, 0) + extraRows * info.strideHeight],
        [left, Math.max(right, 0) + extraCols * info.strideWidth],
        [0, 0],
      ],
      dataFormat: "NHWC",
    });
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) {
      grad = scope.run("Slice", { x: grad }, {
        begin: [0, 0, 0, 0],
        size: [info.inChannels, kh, kw, info.outChannels],
      });
    }
    return scope.keep(scope.run("Transpose", { x: grad }, { perm: [1, 2, 0, 3] }));
  } finally {
    scope.close();
  }
}

/** Power-of-two alignment (in floats) from which the wasm filter transpose thrashes. */
const ALIGNMENT_LIMIT = 128;

/**
 * Zero tap rows and columns (0 or 1 each) to add to a [rows, cols, channels, out] filter so
 * that rows*cols*channels is not a multiple of {@link ALIGNMENT_LIMIT}; [0, 0] if it is not
 * already, or if no such padding helps (the channels alone are that aligned).
 */
export function unalignedTapPadding(
  rows: number,
  cols: number,
  channels: number,
): [number, number] {
  const aligned = (r: number, c: number) => (r * c * channels) % ALIGNMENT_LIMIT === 0;
  if (!aligned(rows, cols)) return [0, 0];
  const options: [number, number][] = [[0, 1], [1, 0], [1, 1]];
  return options.find(([r, c]) => !aligned(rows + r, cols + c)) ?? [0, 0];
}
