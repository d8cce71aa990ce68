/**
 * Procedural "foreign" textures for synthetic anomalies, standing in for the DTD texture set the
 * originals paste (it cannot be downloaded here): seeded stripes, checkerboards, blobs of
 * value noise, speckle and colour gradients, each in random colours.
 * @module
 */

/** The kinds {@linkcode proceduralTexture} draws from. */
export const TEXTURE_KINDS = ["stripes", "checker", "blobs", "speckle", "gradient"] as const;

function randomColour(rng: () => number): [number, number, number] {
  return [rng(), rng(), rng()];
}

/** Smooth value noise at `cells` cells across, in [0, 1]. */
function valueNoise(height: number, width: number, cells: number, rng: () => number) {
  const g = cells + 2;
  const lattice = Float32Array.from({ length: g * g }, () => rng());
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const px = (x / width) * cells, py = (y / height) * cells;
      const ix = Math.floor(px), iy = Math.floor(py);
      const fx = px - ix, fy = py - iy;
      const sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy);
      const a = lattice[iy * g + ix], b = lattice[iy * g + ix + 1];
      const c = lattice[(iy + 1) * g + ix], d = lattice[(iy + 1) * g + ix + 1];
      out[y * width + x] = a + sx * (b - a) + sy * (c + sx * (d - c) - a - sx * (b - a));
    }
  }
  return out;
}

/**
 * A `height` x `width` RGB texture in [0, 1] (`H * W * 3`, row-major), its kind, colours and
 * scale drawn from `rng`.
 *
 * @example
 * ```ts
 * import { proceduralTexture } from "./textures.ts";
 * import { mulberry32 } from "../../util/random.ts";
 * const texture = proceduralTexture(8, 8, mulberry32(3));
 * if (texture.length !== 192 || texture.some((v) => v < 0 || v > 1)) throw new Error();
 * ```
 */
export function proceduralTexture(
  height: number,
  width: number,
  rng: () => number,
): Float32Array {
  const kind = TEXTURE_KINDS[Math.floor(rng() * TEXTURE_KINDS.length)];
  const a = randomColour(rng), b = randomColour(rng);
  const weight = new Float32Array(height * width);
  if (kind === "stripes" || kind === "checker") {
    const period = 2 + rng() * Math.max(2, width / 4);
    const angle = rng() * Math.PI;
    const ca = Math.cos(angle), sa = Math.sin(angle);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const u = Math.floor((ca * x + sa * y) / period);
        const v = Math.floor((-sa * x + ca * y) / period);
        weight[y * width + x] = kind === "stripes" ? u & 1 : (u + v) & 1;
      }
    }
  } else if (kind === "blobs") {
    weight.set(valueNoise(height, width, 2 + Math.floor(rng() * 6), rng));
  } else if (kind === "speckle") {
    for (let i = 0; i < weight.length; i++) weight[i] = rng() < 0.5 ? 0 : 1;
  } else {
    const angle = rng() * 2 * Math.PI;
    const ca = Math.cos(angle), sa = Math.sin(angle);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const t = (ca * (x / width - 0.5) + sa * (y / height - 0.5)) + 0.5;
        weight[y * width + x] = Math.min(1, Math.max(0, t));
      }
    }
  }
  const out = new Float32Array(height * width * 3);
  for (let i = 0; i < weight.length; i++) {
    const w = weight[i];
    for (let c = 0; c < 3; c++) out[i * 3 + c] = a[c] + w * (b[c] - a[c]);
  }
  return out;
}
