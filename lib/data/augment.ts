/**
 * The augmented view CCL encodes next to each image: random resized crop, flips, rotation,
 * colour jitter, random grayscale and Gaussian blur, on plain HWC RGB Float32Array images with
 * values in [0, 1] (before ImageNet normalisation). Plain arrays instead of tensors keep the
 * result identical on every backend and exactly reproducible from the seed.
 *
 * Order: the geometric parts (crop, flips, rotation) are composed into one affine map and
 * applied with a single bilinear resampling, so the image is interpolated once, not three
 * times; pixels the rotation brings in from outside the image are filled by reflection. Then
 * colour jitter (its four parts in a random order, as torchvision's ColorJitter), grayscale,
 * blur. The output is clamped to [0, 1].
 * @module
 */

/** Random resized crop: area fraction and aspect ratio ranges; the crop is resized back. */
export interface CropOptions {
  /** Range of the crop's area as a fraction of the image (default [0.8, 1]). */
  scale?: readonly [number, number];
  /** Range of the crop's width/height ratio, sampled log-uniformly (default [3/4, 4/3]). */
  ratio?: readonly [number, number];
}

/** Colour jitter strengths, as torchvision's ColorJitter. */
export interface JitterOptions {
  /** Brightness factor drawn from [1 - b, 1 + b] (default 0.4). */
  brightness?: number;
  /** Contrast factor drawn from [1 - c, 1 + c] (default 0.4). */
  contrast?: number;
  /** Saturation factor drawn from [1 - s, 1 + s] (default 0.4). */
  saturation?: number;
  /** Hue shift drawn from [-h, h], in turns (default 0.1, at most 0.5). */
  hue?: number;
  /** Probability of jittering at all (default 1). */
  p?: number;
  /** Apply the four parts in a random order (default true) or fixed b, c, s, h. */
  randomOrder?: boolean;
}

/** Gaussian blur settings. */
export interface BlurOptions {
  /** Probability of blurring (default 0.5). */
  p?: number;
  /** Range the standard deviation is drawn from, in pixels (default [0.1, 2]). */
  sigma?: readonly [number, number];
  /**
   * Odd kernel size; default: about a tenth of the smaller side, made odd, at least 3. The
   * kernel is further cut at 3 sigma, where the dropped weight is below 0.3%.
   */
  kernelSize?: number;
}

/**
 * Which parts of the augmentation run and how strongly. A part left out takes its default;
 * `false` switches it off.
 */
export interface AugmentOptions {
  crop?: CropOptions | false;
  /** Probability of a horizontal flip (default 0.5). */
  hflip?: number | false;
  /** Probability of a vertical flip (default 0.5). */
  vflip?: number | false;
  /** Maximum rotation in degrees, either way (default 15). */
  rotation?: number | false;
  colorJitter?: JitterOptions | false;
  /** Probability of converting to grayscale (default 0.2). */
  grayscale?: number | false;
  blur?: BlurOptions | false;
}

/** Every part switched off: {@link augmentView} then returns a copy of its input. */
export const NO_AUGMENT: Readonly<AugmentOptions> = Object.freeze({
  crop: false,
  hflip: false,
  vflip: false,
  rotation: false,
  colorJitter: false,
  grayscale: false,
  blur: false,
});

const DEFAULT_CROP: Required<CropOptions> = { scale: [0.8, 1], ratio: [3 / 4, 4 / 3] };
const DEFAULT_JITTER: Required<JitterOptions> = {
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.4,
  hue: 0.1,
  p: 1,
  randomOrder: true,
};
const DEFAULT_BLUR: Required<Omit<BlurOptions, "kernelSize">> = { p: 0.5, sigma: [0.1, 2] };

/** Luma weights torchvision uses for grayscale, contrast and saturation. */
const LUMA: readonly [number, number, number] = [0.2989, 0.587, 0.114];

/**
 * Returns an augmented copy of `image` (HWC RGB, values in [0, 1]), drawing every random
 * choice from `rng`, so the same generator state gives the same view.
 *
 * @example
 * ```ts
 * import { augmentView } from "./augment.ts";
 * import { mulberry32 } from "../util/random.ts";
 * const image = new Float32Array(64 * 64 * 3).fill(0.5);
 * const view = augmentView(image, [64, 64], mulberry32(1), { rotation: 10, blur: false });
 * ```
 */
export function augmentView(
  image: Float32Array,
  shape: readonly [number, number],
  rng: () => number,
  options: AugmentOptions = {},
): Float32Array {
  const [h, w] = shape;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new RangeError(`augmentView: bad shape [${h}, ${w}]`);
  }
  if (image.length !== h * w * 3) {
    throw new RangeError(`augmentView: ${image.length} values do not match [${h}, ${w}, 3]`);
  }
  const out = applyGeometry(image, h, w, rng, options);
  if (options.colorJitter !== false) {
    colorJitter(out, { ...DEFAULT_JITTER, ...options.colorJitter }, rng);
  }
  const grayP = options.grayscale ?? 0.2;
  if (grayP !== false && rng() < grayP) toGrayscale(out);
  if (options.blur !== false) {
    const blur = { ...DEFAULT_BLUR, ...options.blur };
    if (rng() < blur.p) {
      const sigma = uniform(rng, blur.sigma[0], blur.sigma[1]);
      gaussianBlur(out, h, w, sigma, options.blur?.kernelSize ?? defaultKernelSize(h, w));
    }
  }
  clampUnit(out);
  return out;
}

/**
 * {@link augmentView} over each image of an NHWC batch (`shape` is [B, H, W]), in order, all
 * drawing from the same `rng`.
 */
export function augmentBatch(
  images: Float32Array,
  shape: readonly [number, number, number],
  rng: () => number,
  options: AugmentOptions = {},
): Float32Array {
  const [b, h, w] = shape;
  const size = h * w * 3;
  if (images.length !== b * size) {
    throw new RangeError(
      `augmentBatch: ${images.length} values do not match [${b}, ${h}, ${w}, 3]`,
    );
  }
  const out = new Float32Array(images.length);
  for (let i = 0; i < b; i++) {
    out.set(augmentView(images.subarray(i * size, (i + 1) * size), [h, w], rng, options), i * size);
  }
  return out;
}

/** Odd kernel size of about a tenth of the smaller side, at least 3. */
export function defaultKernelSize(h: number, w: number): number {
  const k = Math.max(3, Math.floor(Math.min(h, w) / 10));
  return k % 2 === 1 ? k : k + 1;
}

function uniform(rng: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

// ---------------------------------------------------------------------------------------------
// Geometry

/**
 * Crop, flips and rotation as one map from output pixel to source position, in continuous
 * coordinates (pixel centres at +0.5): source = A · (x, y, 1).
 */
function applyGeometry(
  image: Float32Array,
  h: number,
  w: number,
  rng: () => number,
  options: AugmentOptions,
): Float32Array {
  let cropX = 0, cropY = 0, cropW = w, cropH = h;
  if (options.crop !== false) {
    [cropX, cropY, cropW, cropH] = sampleCrop(h, w, { ...DEFAULT_CROP, ...options.crop }, rng);
  }
  const hflipP = options.hflip ?? 0.5;
  const vflipP = options.vflip ?? 0.5;
  const hflip = hflipP !== false && rng() < hflipP;
  const vflip = vflipP !== false && rng() < vflipP;
  const maxDegrees = options.rotation ?? 15;
  const angle = maxDegrees === false ? 0 : uniform(rng, -maxDegrees, maxDegrees) * Math.PI / 180;

  if (options.crop === false && angle === 0) return flipExact(image, h, w, hflip, vflip);

  // Output point p -> un-rotate about the centre -> un-flip -> into the crop rectangle.
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const cx = w / 2, cy = h / 2;
  // q = R(-angle)(p - c) + c
  let qxx = cos, qxy = sin, qx0 = cx - cos * cx - sin * cy;
  let qyx = -sin, qyy = cos, qy0 = cy + sin * cx - cos * cy;
  if (hflip) [qxx, qxy, qx0] = [-qxx, -qxy, w - qx0];
  if (vflip) [qyx, qyy, qy0] = [-qyx, -qyy, h - qy0];
  const sx = cropW / w, sy = cropH / h;
  // Output pixel (x, y) sits at (x + 0.5, y + 0.5); the source index is the continuous
  // position minus 0.5 (centre of pixel i at i).
  const ax = qxx * sx, bx = qxy * sx;
  const ay = qyx * sy, by = qyy * sy;
  const cxOff = cropX + qx0 * sx + 0.5 * (ax + bx) - 0.5;
  const cyOff = cropY + qy0 * sy + 0.5 * (ay + by) - 0.5;
  return resampleAffine(image, h, w, ax, bx, cxOff, ay, by, cyOff);
}

/** torchvision's RandomResizedCrop sampling, with continuous sizes; centre crop as fallback. */
function sampleCrop(
  h: number,
  w: number,
  options: Required<CropOptions>,
  rng: () => number,
): [number, number, number, number] {
  const area = h * w;
  const logLo = Math.log(options.ratio[0]), logHi = Math.log(options.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(rng, options.scale[0], options.scale[1]);
    const ratio = Math.exp(uniform(rng, logLo, logHi));
    const cw = Math.sqrt(target * ratio);
    const ch = Math.sqrt(target / ratio);
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      return [rng() * (w - cw), rng() * (h - ch), cw, ch];
    }
  }
  // Fallback as torchvision: the largest centred crop whose ratio is within range.
  const ratio = w / h;
  let cw = w, ch = h;
  if (ratio < options.ratio[0]) ch = w / options.ratio[0];
  else if (ratio > options.ratio[1]) cw = h * options.ratio[1];
  return [(w - cw) / 2, (h - ch) / 2, cw, ch];
}

/** Copy with optional exact flips (no interpolation). */
function flipExact(image: Float32Array, h: number, w: number, hflip: boolean, vflip: boolean) {
  if (!hflip && !vflip) return image.slice();
  const out = new Float32Array(image.length);
  for (let y = 0; y < h; y++) {
    const srcRow = (vflip ? h - 1 - y : y) * w * 3;
    const dstRow = y * w * 3;
    if (!hflip) {
      out.set(image.subarray(srcRow, srcRow + w * 3), dstRow);
      continue;
    }
    for (let x = 0; x < w; x++) {
      const s = srcRow + (w - 1 - x) * 3, d = dstRow + x * 3;
      out[d] = image[s];
      out[d + 1] = image[s + 1];
      out[d + 2] = image[s + 2];
    }
  }
  return out;
}

/** Reflects a continuous index into [0, n - 1] (mirror about the edge pixel centres). */
function reflect(f: number, n: number): number {
  const last = n - 1;
  if (last === 0) return 0;
  const period = 2 * last;
  let r = f % period;
  if (r < 0) r += period;
  return r > last ? period - r : r;
}

/** Bilinear resampling of `image` at source (ax·x + bx·y + cx, ay·x + by·y + cy). */
function resampleAffine(
  image: Float32Array,
  h: number,
  w: number,
  ax: number,
  bx: number,
  cx: number,
  ay: number,
  by: number,
  cy: number,
): Float32Array {
  const out = new Float32Array(h * w * 3);
  let o = 0;
  for (let y = 0; y < h; y++) {
    let fx = bx * y + cx;
    let fy = by * y + cy;
    for (let x = 0; x < w; x++, o += 3, fx += ax, fy += ay) {
      const px = fx >= 0 && fx <= w - 1 ? fx : reflect(fx, w);
      const py = fy >= 0 && fy <= h - 1 ? fy : reflect(fy, h);
      const x0 = Math.floor(px), y0 = Math.floor(py);
      const x1 = x0 < w - 1 ? x0 + 1 : x0, y1 = y0 < h - 1 ? y0 + 1 : y0;
      const tx = px - x0, ty = py - y0;
      const w00 = (1 - tx) * (1 - ty), w01 = tx * (1 - ty), w10 = (1 - tx) * ty, w11 = tx * ty;
      const p00 = (y0 * w + x0) * 3, p01 = (y0 * w + x1) * 3;
      const p10 = (y1 * w + x0) * 3, p11 = (y1 * w + x1) * 3;
      out[o] = w00 * image[p00] + w01 * image[p01] + w10 * image[p10] + w11 * image[p11];
      out[o + 1] = w00 * image[p00 + 1] + w01 * image[p01 + 1] + w10 * image[p10 + 1] +
        w11 * image[p11 + 1];
      out[o + 2] = w00 * image[p00 + 2] + w01 * image[p01 + 2] + w10 * image[p10 + 2] +
        w11 * image[p11 + 2];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Colour

function colorJitter(image: Float32Array, options: Required<JitterOptions>, rng: () => number) {
  if (!(rng() < options.p)) return;
  const order = [0, 1, 2, 3];
  if (options.randomOrder) {
    for (let i = 3; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  for (const part of order) {
    if (part === 0 && options.brightness > 0) {
      scaleTowards(image, factor(rng, options.brightness), () => 0);
    } else if (part === 1 && options.contrast > 0) {
      const c = factor(rng, options.contrast);
      const mean = meanLuma(image);
      scaleTowards(image, c, () => mean);
    } else if (part === 2 && options.saturation > 0) {
      adjustSaturation(image, factor(rng, options.saturation));
    } else if (part === 3 && options.hue > 0) {
      const hue = Math.min(options.hue, 0.5);
      shiftHue(image, uniform(rng, -hue, hue));
    }
  }
}

function factor(rng: () => number, strength: number): number {
  return uniform(rng, Math.max(0, 1 - strength), 1 + strength);
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** x -> clamp(f·x + (1 - f)·target), the blend torchvision's adjust_* functions use. */
function scaleTowards(image: Float32Array, f: number, target: () => number) {
  const t = (1 - f) * target();
  for (let i = 0; i < image.length; i++) image[i] = clamp01(f * image[i] + t);
}

function meanLuma(image: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < image.length; i += 3) {
    sum += LUMA[0] * image[i] + LUMA[1] * image[i + 1] + LUMA[2] * image[i + 2];
  }
  return sum / (image.length / 3);
}

function adjustSaturation(image: Float32Array, f: number) {
  const g = 1 - f;
  for (let i = 0; i < image.length; i += 3) {
    const gray = g * (LUMA[0] * image[i] + LUMA[1] * image[i + 1] + LUMA[2] * image[i + 2]);
    image[i] = clamp01(f * image[i] + gray);
    image[i + 1] = clamp01(f * image[i + 1] + gray);
    image[i + 2] = clamp01(f * image[i + 2] + gray);
  }
}

/** Rotates the hue of every pixel by `shift` turns (via HSV, as torchvision's adjust_hue). */
function shiftHue(image: Float32Array, shift: number) {
  for (let i = 0; i < image.length; i += 3) {
    const r = image[i], g = image[i + 1], b = image[i + 2];
    const max = r > g ? (r > b ? r : b) : (g > b ? g : b);
    const min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    const delta = max - min;
    if (delta === 0) continue; // gray: hue undefined, nothing to rotate
    let hue: number;
    if (max === r) hue = (g - b) / delta;
    else if (max === g) hue = 2 + (b - r) / delta;
    else hue = 4 + (r - g) / delta;
    hue = hue / 6 + shift;
    hue -= Math.floor(hue);
    const s = delta / max;
    const v = max;
    const h6 = hue * 6;
    const sector = Math.floor(h6) % 6;
    const frac = h6 - Math.floor(h6);
    const p = v * (1 - s), q = v * (1 - s * frac), t = v * (1 - s * (1 - frac));
    let nr: number, ng: number, nb: number;
    switch (sector) {
      case 0:
        [nr, ng, nb] = [v, t, p];
        break;
      case 1:
        [nr, ng, nb] = [q, v, p];
        break;
      case 2:
        [nr, ng, nb] = [p, v, t];
        break;
      case 3:
        [nr, ng, nb] = [p, q, v];
        break;
      case 4:
        [nr, ng, nb] = [t, p, v];
        break;
      default:
        [nr, ng, nb] = [v, p, q];
    }
    image[i] = nr;
    image[i + 1] = ng;
    image[i + 2] = nb;
  }
}

function toGrayscale(image: Float32Array) {
  for (let i = 0; i < image.length; i += 3) {
    const gray = LUMA[0] * image[i] + LUMA[1] * image[i + 1] + LUMA[2] * image[i + 2];
    image[i] = gray;
    image[i + 1] = gray;
    image[i + 2] = gray;
  }
}

function clampUnit(image: Float32Array) {
  for (let i = 0; i < image.length; i++) {
    const v = image[i];
    if (!(v >= 0)) image[i] = 0;
    else if (v > 1) image[i] = 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Blur

/** Normalised 1-D Gaussian weights of radius r. */
function gaussianKernel(sigma: number, radius: number): Float32Array {
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/** Index reflected into [0, n) without repeating the edge (torchvision's "reflect" padding). */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/** Separable Gaussian blur in place, reflect padding. */
function gaussianBlur(
  image: Float32Array,
  h: number,
  w: number,
  sigma: number,
  kernelSize: number,
) {
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0) {
    throw new RangeError(`blur kernel size must be a positive odd integer, got ${kernelSize}`);
  }
  const radius = Math.min((kernelSize - 1) / 2, Math.ceil(3 * sigma));
  if (radius === 0) return;
  const kernel = gaussianKernel(sigma, radius);
  const tmp = new Float32Array(image.length);
  // Horizontal pass: image -> tmp.
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    for (let x = 0; x < w; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = -radius; k <= radius; k++) {
        const xx = x + k;
        const p = row + (xx >= 0 && xx < w ? xx : reflectIndex(xx, w)) * 3;
        const wt = kernel[k + radius];
        r += wt * image[p];
        g += wt * image[p + 1];
        b += wt * image[p + 2];
      }
      const o = row + x * 3;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  // Vertical pass: tmp -> image, row by row so memory is read sequentially.
  const stride = w * 3;
  for (let y = 0; y < h; y++) {
    const o = y * stride;
    for (let i = 0; i < stride; i++) image[o + i] = 0;
    for (let k = -radius; k <= radius; k++) {
      const yy = y + k;
      const src = (yy >= 0 && yy < h ? yy : reflectIndex(yy, h)) * stride;
      const wt = kernel[k + radius];
      for (let i = 0; i < stride; i++) image[o + i] += wt * tmp[src + i];
    }
  }
}
