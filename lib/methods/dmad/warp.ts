/**
 * Differentiable bilinear warping of images or feature maps by per-pixel offsets, without
 * gathers: the offsets are bounded by `maxOffset`, so with K = ceil(maxOffset) the sample at
 * p + o(p) is the sum over the (2K + 1)² integer shifts d of
 * hat(o_y - d_y) · hat(o_x - d_x) · F(p + d), with hat(t) = max(0, 1 - |t|) (exactly bilinear
 * interpolation). Only pad, slice, abs, relu, min/max, mul and add appear, whose gradients
 * every backend has (the wasm backend lacks gather and grid-sample gradients). This is
 * PyTorch's `grid_sample(align_corners=True)` in pixel units; `border: "clamp"` first clamps
 * the sampling position into the map, as the official DMAD code clamps its grid to [-1, 1]
 * (`torch.clamp(offset + grid, -1, 1)`); `"zeros"` reads zeros outside the map.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** How {@linkcode warpBilinear} treats sampling positions outside the map. */
export type WarpBorder = "zeros" | "clamp";

/**
 * Samples `features` [B, h, w, C] at p + `offsets`(p); `offsets` [B, h, w, 2] hold (dy, dx)
 * in pixels, clipped to [-maxOffset, maxOffset] (any positive bound; the cost grows with
 * ceil(maxOffset)²).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import * as tf from "@tensorflow/tfjs-core";
 * import { warpBilinear } from "./warp.ts";
 * const f = tf.tensor4d([1, 2, 3, 4], [1, 1, 4, 1]);
 * const o = tf.tensor4d([0, 0.5, 0, 0.5, 0, 0.5, 0, 0.5], [1, 1, 4, 2]);
 * const warped = warpBilinear(f, o, 1); // [1.5, 2.5, 3.5, 2]
 * ```
 */
export function warpBilinear(
  features: tf.Tensor4D,
  offsets: tf.Tensor4D,
  maxOffset: number,
  border: WarpBorder = "zeros",
): tf.Tensor4D {
  const [batch, height, width] = features.shape;
  if (!Number.isFinite(maxOffset) || maxOffset <= 0) {
    throw new Error(
      `lib/methods/dmad/warp.ts: maxOffset must be a positive number, got ${maxOffset}`,
    );
  }
  const expected = [batch, height, width, 2];
  if (offsets.rank !== 4 || offsets.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `lib/methods/dmad/warp.ts: offsets must be [${expected}] for features [${features.shape}], ` +
        `got [${offsets.shape}]`,
    );
  }
  const k = Math.ceil(maxOffset);
  return tf.tidy(() => {
    const clipped = tf.clipByValue(offsets, -maxOffset, maxOffset);
    let oy: tf.Tensor = tf.slice(clipped, [0, 0, 0, 0], [batch, height, width, 1]);
    let ox: tf.Tensor = tf.slice(clipped, [0, 0, 0, 1], [batch, height, width, 1]);
    if (border === "clamp") {
      // Position p + o clamped to [0, n - 1], i.e. o clamped to [-p, n - 1 - p].
      const rows = tf.reshape(tf.range(0, height, 1, "float32"), [1, height, 1, 1]);
      const cols = tf.reshape(tf.range(0, width, 1, "float32"), [1, 1, width, 1]);
      oy = tf.minimum(tf.maximum(oy, tf.neg(rows)), tf.sub(height - 1, rows));
      ox = tf.minimum(tf.maximum(ox, tf.neg(cols)), tf.sub(width - 1, cols));
    }
    return shiftSample(features, oy as tf.Tensor4D, ox as tf.Tensor4D, k);
  });
}

function hat(t: tf.Tensor, d: number): tf.Tensor {
  return tf.relu(tf.sub(1, tf.abs(tf.sub(t, d))));
}

/** d hat(t - d) / dt: -sign(t - d) where |t - d| < 1 (0 at the kinks, as autodiff gives). */
function hatSlope(t: tf.Tensor, d: number): tf.Tensor {
  const u = tf.sub(t, d);
  return tf.mul(tf.neg(tf.sign(u)), tf.cast(tf.less(tf.abs(u), 1), "float32"));
}

/** `acc + next()`, disposing `acc` and everything `next` made but its result. */
function accumulate(acc: tf.Tensor | null, next: () => tf.Tensor): tf.Tensor {
  const sum = tf.tidy(() => (acc === null ? next() : tf.add(acc, next())));
  acc?.dispose();
  return sum;
}

function sampleForward(features: tf.Tensor4D, oy: tf.Tensor, ox: tf.Tensor, k: number): tf.Tensor {
  const [batch, height, width, channels] = features.shape;
  const padded = tf.pad(features, [[0, 0], [k, k], [k, k], [0, 0]]);
  let out: tf.Tensor | null = null;
  for (let dy = -k; dy <= k; dy++) {
    let row: tf.Tensor | null = null;
    for (let dx = -k; dx <= k; dx++) {
      row = accumulate(row, () =>
        tf.mul(
          hat(ox, dx),
          tf.slice(padded, [0, k + dy, k + dx, 0], [batch, height, width, channels]),
        ));
    }
    const rowSum = row!;
    out = accumulate(out, () => tf.mul(hat(oy, dy), rowSum));
    rowSum.dispose();
  }
  padded.dispose();
  return out!;
}

/**
 * The shift sum as one op with a hand-written gradient: the tape keeps only its three inputs
 * (not the (2K + 1)² shifted copies autodiff would keep: at 256² and K = 8 those are
 * gigabytes), and the backward pass accumulates shift by shift.
 */
function shiftSample(
  features: tf.Tensor4D,
  oy: tf.Tensor4D,
  ox: tf.Tensor4D,
  k: number,
): tf.Tensor4D {
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [f, y, x] = inputs as tf.Tensor4D[];
    const save = inputs[3] as tf.GradSaveFunc;
    save([f, y, x]);
    const value = sampleForward(f, y, x, k) as tf.Tensor4D;
    const gradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
      tf.tidy(() => shiftSampleGrad(dy as tf.Tensor4D, saved as tf.Tensor4D[], k));
    return { value, gradFunc };
  });
  return op(features, oy, ox) as tf.Tensor4D;
}

function shiftSampleGrad(g: tf.Tensor4D, saved: tf.Tensor4D[], k: number): tf.Tensor[] {
  const [f, oy, ox] = saved;
  const [batch, height, width, channels] = f.shape;
  const padded = tf.pad(f, [[0, 0], [k, k], [k, k], [0, 0]]);
  let dPadded: tf.Tensor | null = null;
  let dOy: tf.Tensor | null = null;
  let dOx: tf.Tensor | null = null;
  for (let sy = -k; sy <= k; sy++) {
    for (let sx = -k; sx <= k; sx++) {
      const hy = hat(oy, sy);
      const hx = hat(ox, sx);
      // Feature gradient: this shift's weighted output gradient, placed back at p + d.
      dPadded = accumulate(
        dPadded,
        () =>
          tf.pad(tf.mul(tf.mul(hy, hx), g), [[0, 0], [k + sy, k - sy], [k + sx, k - sx], [0, 0]]),
      );
      const projected = tf.sum(
        tf.mul(g, tf.slice(padded, [0, k + sy, k + sx, 0], [batch, height, width, channels])),
        3,
        true,
      );
      dOy = accumulate(dOy, () => tf.mul(tf.mul(hatSlope(oy, sy), hx), projected));
      dOx = accumulate(dOx, () => tf.mul(tf.mul(hy, hatSlope(ox, sx)), projected));
      tf.dispose([hy, hx, projected]);
    }
  }
  const dF = tf.slice(dPadded!, [0, k, k, 0], [batch, height, width, channels]);
  return [dF, dOy!, dOx!];
}
