/**
 * Shared argument checks and geometry for the `wasm` convolution gradient kernels.
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";

/** A 4-D shape. */
export type Shape4 = [number, number, number, number];

/** Attributes common to both convolution gradient kernels. */
export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: [number, number] | number;
}

/** Throws unless the layout is NHWC and dilation (when given) is 1. */
export function assertSupported(file: string, kernel: string, attrs: ConvGradAttrs): void {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new Error(
      `${file}: ${kernel} supports dataFormat 'NHWC' only, got '${attrs.dataFormat}'`,
    );
  }
  const d = attrs.dilations;
  if (d !== undefined && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1)) {
    throw new Error(`${file}: ${kernel} supports dilations of 1 only, got ${JSON.stringify(d)}`);
  }
}

/** A float32 NHWC tensor with its shape typed. */
export type Float4d = tf.TensorInfo & { shape: Shape4 };

/** Returns `info` if it is a float32 tensor of rank 4; throws otherwise. */
export function requireFloat4d(
  file: string,
  what: string,
  info: tf.TensorInfo | undefined,
): Float4d {
  if (info === undefined) throw new Error(`${file}: input '${what}' is missing`);
  if (info.shape.length !== 4) {
    throw new Error(`${file}: ${what} must be rank 4 (NHWC), got shape [${info.shape}]`);
  }
  if (info.dtype !== "float32") {
    throw new Error(`${file}: ${what} must be float32, got ${info.dtype}`);
  }
  return info as Float4d;
}

/** Forward-conv geometry for the given input and filter shapes. */
export function forwardConvInfo(
  inShape: Shape4,
  filterShape: Shape4,
  attrs: ConvGradAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** Throws unless `dy` has exactly the forward conv's output shape. */
export function assertDyShape(
  file: string,
  dy: Shape4,
  info: tf.backend_util.Conv2DInfo,
): void {
  const want = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.some((v, i) => v !== want[i])) {
    throw new Error(
      `${file}: dy has shape [${dy}] but the forward conv gives [${want}]`,
    );
  }
}
