/**
 * A 2x2 stride-2 transposed convolution as one differentiable op with hand-written gradients:
 *
 * y[b, 2h+i, 2w+j, o] = Σ_c x[b, h, w, c] · weight[c, i, j, o]
 *
 * The kernel never overlaps itself, so the forward pass is one matrix product
 * [B·H·W, in] x [in, 4·out] and a reshuffle of its rows into the output pixels. Left to
 * autodiff, the weight gradient is xᵀ·dyRows: on `wasm` a copy of x transposed, then a
 * product whose [B·H·W, 4·out] right operand the matmul packs anew every step (most of the
 * backward time at RD's real sizes). Here instead:
 *
 * - dW = the filter gradient of conv2d(dy, W', stride 2, 'valid'), W'[i, j, o, c] =
 *   weight[c, i, j, o], with x in the role of that conv's output gradient: on `wasm` the
 *   direct SIMD kernel of `wasm_conv_filter_simd.ts`, which reads dy and x in place; then a
 *   small transpose back to [in, 2, 2, out];
 * - dx = dyRows · Wᵀ as autodiff has it (one reshuffle of dy into rows, one product). The
 *   convolution conv2d(dy, W', 2, 'valid') reads dy in place too, but on `wasm` it packs its
 *   fresh filter each step and measured no faster.
 *
 * Values match `tf.conv2dTranspose` (tests compare on cpu and wasm). The op is
 * backend-neutral: every backend has `BatchMatMul`, `Transpose` and `Conv2DBackpropFilter`.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

const FILE = "lib/backend/conv_transpose_2x2.ts";

/**
 * Swaps axes 1 and 2 of `t` seen as [rows, a, b, rest]: [B*H, W, 2, 2*out] (one matmul row per
 * input pixel) <-> [B*H, 2, W, 2*out] (output pixels). Its own inverse for a = W, b = 2 and
 * a = 2, b = W.
 */
function swapMiddle(t: tf.Tensor, rows: number, a: number, b: number, rest: number): tf.Tensor {
  return tf.transpose(tf.reshape(t, [rows, a, b, rest]), [0, 2, 1, 3]);
}

function forward(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, inChannels] = x.shape;
  const outChannels = weight.shape[3];
  const flat = tf.matMul(
    tf.reshape(x, [batch * height * width, inChannels]),
    tf.reshape(weight, [inChannels, 4 * outChannels]),
  );
  const pixels = swapMiddle(flat, batch * height, width, 2, 2 * outChannels);
  return tf.reshape(pixels, [batch, 2 * height, 2 * width, outChannels]);
}

type CustomGradientFunc = Parameters<typeof tf.customGrad<tf.Tensor4D>>[0];

const op = tf.customGrad<tf.Tensor4D>(
  ((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4] = inputs as tf.Tensor4D[];
    const save = inputs[2] as tf.GradSaveFunc;
    save([x4, w4]);
    return {
      value: forward(x4, w4),
      gradFunc: (dy4: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor4D[];
        const [batch, height, width] = xs.shape;
        const [inChannels, , , outChannels] = ws.shape;
        const dyRows = swapMiddle(dy4, batch * height, 2, width, 2 * outChannels);
        const dx = tf.reshape(
          tf.matMul(
            tf.reshape(dyRows, [batch * height * width, 4 * outChannels]),
            tf.reshape(ws, [inChannels, 4 * outChannels]),
            false,
            true,
          ),
          xs.shape,
        );
        const dwT = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: dy4, dy: xs }, {
          strides: 2,
          pad: "valid",
          dataFormat: "NHWC",
          dimRoundingMode: undefined,
          filterShape: [2, 2, outChannels, inChannels],
        } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        return [dx, tf.transpose(dwT, [3, 0, 1, 2])];
      },
    };
  }) as CustomGradientFunc,
);

/**
 * [B, H, W, in] x weight [in, 2, 2, out] -> [B, 2H, 2W, out] (no bias), differentiable in
 * both arguments with the gradients of the module doc.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { convTranspose2x2 } from "./conv_transpose_2x2.ts";
 * await tf.setBackend("cpu");
 * const y = convTranspose2x2(tf.ones([1, 2, 3, 4]), tf.ones([4, 2, 2, 5]));
 * if (y.shape.join() !== "1,4,6,5" || y.dataSync()[0] !== 4) throw new Error();
 * ```
 */
export function convTranspose2x2(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  if (x.rank !== 4 || weight.rank !== 4 || weight.shape[1] !== 2 || weight.shape[2] !== 2) {
    throw new Error(
      `${FILE}: expects x [B, H, W, in] and weight [in, 2, 2, out], got [${x.shape}] and [${weight.shape}]`,
    );
  }
  if (x.shape[3] !== weight.shape[0]) {
    throw new Error(
      `${FILE}: x has ${x.shape[3]} channels but the weight [${weight.shape}] expects ${
        weight.shape[0]
      }`,
    );
  }
  return op(x, weight);
}
