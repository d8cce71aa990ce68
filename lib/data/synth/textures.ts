/**
 * The texture classes of the synthetic dataset: surfaces that fill the whole frame.
 * Each is a pure function of parameters drawn once per image (pattern phase, orientation,
 * scale, colour and lighting), so an instance can be rendered again exactly.
 * @module
 */

import { clamp, createGrayCanvas, createRgbCanvas, type Rgb, smoothstep } from "./canvas.ts";
import { type Lighting, sampleLighting } from "./lighting.ts";
import { fbm, hash2, valueNoise, worley, type WorleySample } from "./noise.ts";
import { noiseSeed, type Rng, uniform } from "./sampling.ts";
import type { DefectType, Scene, SynthClass, SynthInstance } from "./scene.ts";

/** Defect types of every texture class. */
export const TEXTURE_DEFECTS: readonly DefectType[] = [
  "scratch",
  "hole",
  "stain",
  "crack",
  "missing",
  "foreign_class",
];

/** Colours one pixel; `x`, `y` are pixel centres in [0, 1) units, `out` receives RGB. */
export type PixelShader = (x: number, y: number, out: number[]) => void;

function renderSurface(size: number, shade: PixelShader): Scene {
  const image = createRgbCanvas(size, size);
  const rgb = [0, 0, 0];
  for (let py = 0; py < size; py++) {
    const y = (py + 0.5) / size;
    for (let px = 0; px < size; px++) {
      shade((px + 0.5) / size, y, rgb);
      const o = (py * size + px) * 3;
      image.data[o] = rgb[0];
      image.data[o + 1] = rgb[1];
      image.data[o + 2] = rgb[2];
    }
  }
  return { image, foreground: createGrayCanvas(size, size, 1) };
}

export function jitterColour(rng: Rng, base: Rgb, amount: number): Rgb {
  const brightness = uniform(rng, 1 - amount, 1 + amount);
  return [
    base[0] * brightness * uniform(rng, 0.97, 1.03),
    base[1] * brightness * uniform(rng, 0.97, 1.03),
    base[2] * brightness * uniform(rng, 0.97, 1.03),
  ];
}

export function textureInstance(
  lighting: Lighting,
  size: number,
  shade: PixelShader,
): SynthInstance {
  return { lighting, render: () => renderSurface(size, shade) };
}

/** Everything that determines one plain-weave image (shared by the distinct and confusable families). */
export interface WeaveParams {
  /** Rotation of the threads, radians. */
  angle: number;
  /** Thread spacing, in image widths. */
  pitch: number;
  /** Gap between threads, as a fraction of the pitch. */
  gap: number;
  /** Pattern phase. */
  ou: number;
  ov: number;
  warp: Rgb;
  weft: Rgb;
  seed: number;
}

/** The plain-weave shader: warp over weft threads with fibres and dye blotches. */
export function weaveShader(p: WeaveParams, size: number): PixelShader {
  const { angle, pitch, gap, ou, ov, warp, weft, seed } = p;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const pitchPx = pitch * size;
  return (x, y, out) => {
    const cx = x - 0.5;
    const cy = y - 0.5;
    const u = (ca * cx + sa * cy) / pitch + ou;
    const v = (-sa * cx + ca * cy) / pitch + ov;
    const i = Math.floor(u);
    const j = Math.floor(v);
    const fu = u - i;
    const fv = v - j;
    const warpOnTop = ((i + j) & 1) === 0;
    const span = 1 - 2 * gap;
    const covWarp = clamp(Math.min(fu - gap, 1 - gap - fu) * pitchPx + 0.5, 0, 1);
    const covWeft = clamp(Math.min(fv - gap, 1 - gap - fv) * pitchPx + 0.5, 0, 1);
    const profWarp = Math.sin(Math.PI * clamp((fu - gap) / span, 0, 1));
    const profWeft = Math.sin(Math.PI * clamp((fv - gap) / span, 0, 1));
    const fibreWarp = valueNoise(u * 6, v * 1.2 + i * 3.1, seed);
    const fibreWeft = valueNoise(u * 1.2 + j * 3.1, v * 6, seed ^ 0x1234567);
    const jWarp = 0.9 + 0.2 * hash2(i, 7, seed);
    const jWeft = 0.9 + 0.2 * hash2(11, j, seed);
    const bulgeWarp = warpOnTop ? 0.72 + 0.28 * Math.sin(Math.PI * fv) : 0.62;
    const bulgeWeft = warpOnTop ? 0.62 : 0.72 + 0.28 * Math.sin(Math.PI * fu);
    const kWarp = (0.4 + 0.6 * Math.sqrt(profWarp)) * bulgeWarp * (0.82 + 0.36 * fibreWarp) *
      jWarp;
    const kWeft = (0.4 + 0.6 * Math.sqrt(profWeft)) * bulgeWeft * (0.82 + 0.36 * fibreWeft) *
      jWeft;
    const dye = 0.92 + 0.16 * fbm(x * 4, y * 4, seed ^ 0x2f2f2f, 3);
    let r = warp[0] * 0.22;
    let g = warp[1] * 0.22;
    let b = warp[2] * 0.22;
    // Paint the thread going under first, then the one on top of this crossing.
    const layers: Array<[number, Rgb, number]> = warpOnTop
      ? [[covWeft, weft, kWeft], [covWarp, warp, kWarp]]
      : [[covWarp, warp, kWarp], [covWeft, weft, kWeft]];
    for (const [cov, colour, k] of layers) {
      r += (colour[0] * k - r) * cov;
      g += (colour[1] * k - g) * cov;
      b += (colour[2] * k - b) * cov;
    }
    out[0] = r * dye;
    out[1] = g * dye;
    out[2] = b * dye;
  };
}

/** Plain-weave fabric: blue-grey warp over lighter weft threads, with fibres and dye blotches. */
export const woven: SynthClass = {
  name: "woven",
  kind: "texture",
  description: "plain-weave fabric, indigo warp and grey-blue weft threads",
  defects: TEXTURE_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    const angle = uniform(rng, -0.1, 0.1);
    const pitch = uniform(rng, 0.056, 0.066);
    return weaveInstance(rng, size, {
      angle,
      pitch,
      warp: [0.25, 0.31, 0.45],
      weft: [0.52, 0.55, 0.6],
    });
  },
};

/**
 * A weave image with the given angle and pitch: draws the rest (gap, offsets, jittered thread
 * colours, noise, lighting) from `rng` in a fixed order, shared by every weave-like class.
 */
export function weaveInstance(
  rng: Rng,
  size: number,
  design: { angle: number; pitch: number; warp: Rgb; weft: Rgb },
): SynthInstance {
  const { angle, pitch } = design;
  const gap = uniform(rng, 0.1, 0.15);
  const ou = uniform(rng, 0, 2);
  const ov = uniform(rng, 0, 2);
  const warp = jitterColour(rng, design.warp, 0.08);
  const weft = jitterColour(rng, design.weft, 0.08);
  const seed = noiseSeed(rng);
  const shade = weaveShader({ angle, pitch, gap, ou, ov, warp, weft, seed }, size);
  return textureInstance(sampleLighting(rng), size, shade);
}

/** Everything that determines one wood-grain image. */
export interface GrainParams {
  /** Rotation of the grain, radians (0: vertical). */
  angle: number;
  /** Growth rings per image width. */
  ringFreq: number;
  /** How much fBm distorts the rings. */
  warpAmp: number;
  ou: number;
  ov: number;
  light: Rgb;
  dark: Rgb;
  hasKnot: boolean;
  knotU: number;
  knotV: number;
  knotR: number;
  seed: number;
}

/** The wood-grain shader: early wood, late-wood rings distorted by fBm, streaks, pores, knots. */
export function grainShader(p: GrainParams): PixelShader {
  const { angle, ringFreq, warpAmp, ou, ov, light, dark, hasKnot, knotU, knotV, knotR, seed } = p;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  return (x, y, out) => {
    const cx = x - 0.5;
    const cy = y - 0.5;
    // u runs along the grain (vertical), v across it.
    const u = -sa * cx + ca * cy;
    const v = ca * cx + sa * cy;
    const warp = fbm(u * 1.5 + ou, v * 2.5 + ov, seed, 4) - 0.5;
    let ring = (v + warp * warpAmp) * ringFreq + ov;
    let knot = 0;
    if (hasKnot) {
      const du = (u - knotU) / (2.6 * knotR);
      const dv = (v - knotV) / knotR;
      const d2 = du * du + dv * dv;
      ring += 1.8 * Math.exp(-d2 * 0.5);
      knot = Math.exp(-d2 * 2.5);
    }
    const f = ring - Math.floor(ring);
    const late = smoothstep(0.5, 0.8, f) * (1 - smoothstep(0.88, 1, f));
    const streak = valueNoise(u * 5 + ou, v * 140, seed ^ 0x51ed270b);
    const pore = smoothstep(0.72, 0.9, valueNoise(u * 30, v * 260, seed ^ 0x3c6ef372));
    const blotch = fbm(u * 3, v * 5, seed ^ 0x7f4a7c15, 3);
    const tone = clamp(
      0.62 * late + 0.35 * (streak - 0.5) + 0.4 * (blotch - 0.5) + 0.3 * pore + 0.9 * knot +
        0.15,
      0,
      1,
    );
    for (let c = 0; c < 3; c++) out[c] = light[c] + (dark[c] - light[c]) * tone;
  };
}

/** Wood: honey-coloured early wood, dark late-wood rings distorted by fBm, fine streaks, knots. */
export const grain: SynthClass = {
  name: "grain",
  kind: "texture",
  description: "wood grain, honey-brown with dark growth rings, streaks and occasional knots",
  defects: TEXTURE_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    const angle = uniform(rng, -0.12, 0.12);
    const ringFreq = uniform(rng, 6, 10);
    return grainInstance(rng, size, {
      angle,
      ringFreq,
      light: [0.8, 0.6, 0.37],
      dark: [0.5, 0.3, 0.15],
      knotChance: 0.3,
    });
  },
};

/**
 * A wood-grain image with the given angle, ring frequency, colours and knot chance: draws the
 * rest (warp, offsets, jittered colours, knot, noise, lighting) from `rng` in a fixed order,
 * shared by every grain-like class.
 */
export function grainInstance(
  rng: Rng,
  size: number,
  design: { angle: number; ringFreq: number; light: Rgb; dark: Rgb; knotChance: number },
): SynthInstance {
  const { angle, ringFreq } = design;
  const warpAmp = uniform(rng, 0.1, 0.2);
  const ou = uniform(rng, 0, 50);
  const ov = uniform(rng, 0, 50);
  const light = jitterColour(rng, design.light, 0.06);
  const dark = jitterColour(rng, design.dark, 0.08);
  const hasKnot = rng() < design.knotChance;
  const knotU = uniform(rng, 0.2, 0.8) - 0.5;
  const knotV = uniform(rng, 0.2, 0.8) - 0.5;
  const knotR = uniform(rng, 0.03, 0.055);
  const seed = noiseSeed(rng);
  const shade = grainShader({
    angle,
    ringFreq,
    warpAmp,
    ou,
    ov,
    light,
    dark,
    hasKnot,
    knotU,
    knotV,
    knotR,
    seed,
  });
  return textureInstance(sampleLighting(rng), size, shade);
}

/** Woven metal mesh: shiny round wires over a dark backing, crossing over and under. */
export const grid: SynthClass = {
  name: "grid",
  kind: "texture",
  description: "woven steel wire mesh, shiny grey wires over dark square openings",
  defects: TEXTURE_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    const angle = uniform(rng, -0.06, 0.06);
    const period = uniform(rng, 0.1, 0.12);
    const halfWidth = uniform(rng, 0.13, 0.16);
    const ou = uniform(rng, 0, 1);
    const ov = uniform(rng, 0, 1);
    const metal = jitterColour(rng, [0.66, 0.67, 0.68], 0.07);
    const backing = jitterColour(rng, [0.1, 0.1, 0.11], 0.2);
    const seed = noiseSeed(rng);
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    const periodPx = period * size;
    const wire = (across: number, along: number, onTop: boolean, index: number) => {
      // The wire bends up where it passes over and down where it passes under.
      const height = onTop
        ? 0.78 + 0.22 * Math.cos(Math.PI * along)
        : 0.55 + 0.15 * Math.abs(Math.sin(Math.PI * along));
      const d = Math.abs(across);
      const cov = clamp((halfWidth - d) * periodPx + 0.5, 0, 1);
      const prof = Math.sqrt(Math.max(0, 1 - (d / halfWidth) ** 2));
      const brushed = valueNoise(across * 20 + index * 5.3, along * 3, seed);
      const k = (0.3 + 0.7 * prof) * height * (0.88 + 0.24 * brushed) + 0.35 * prof ** 14;
      return { cov, k };
    };
    const shade: PixelShader = (x, y, out) => {
      const cx = x - 0.5;
      const cy = y - 0.5;
      const u = (ca * cx + sa * cy) / period + ou;
      const v = (-sa * cx + ca * cy) / period + ov;
      const i = Math.round(u);
      const j = Math.round(v);
      const verticalOnTop = ((i + j) & 1) === 0;
      const wobbleU = 0.05 * Math.sin(Math.PI * v) * ((i & 1) ? 1 : -1);
      const wobbleV = 0.05 * Math.sin(Math.PI * u) * ((j & 1) ? 1 : -1);
      const vert = wire(u - i - wobbleU, v - j, verticalOnTop, i);
      const hori = wire(v - j - wobbleV, u - i, !verticalOnTop, j + 101);
      const depth = 0.75 + 0.5 * fbm(x * 6, y * 6, seed ^ 0x2545f491, 3);
      // Wires cast a soft shadow on the backing.
      const shadow = 1 - 0.5 * Math.max(
            smoothstep(halfWidth + 0.12, halfWidth, Math.abs(u - i - wobbleU - 0.05)),
            smoothstep(halfWidth + 0.12, halfWidth, Math.abs(v - j - wobbleV - 0.05)),
          );
      let r = backing[0] * depth * shadow;
      let g = backing[1] * depth * shadow;
      let b = backing[2] * depth * shadow;
      const layers = verticalOnTop ? [hori, vert] : [vert, hori];
      for (const { cov, k } of layers) {
        r += (metal[0] * k - r) * cov;
        g += (metal[1] * k - g) * cov;
        b += (metal[2] * k - b) * cov;
      }
      out[0] = r;
      out[1] = g;
      out[2] = b;
    };
    return textureInstance(sampleLighting(rng), size, shade);
  },
};

/** Leather: oxblood hide of raised cells separated by creases, with pores and fine grain. */
export const leather: SynthClass = {
  name: "leather",
  kind: "texture",
  description: "oxblood leather, raised irregular cells between dark creases, pores",
  defects: TEXTURE_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    const angle = uniform(rng, 0, 2 * Math.PI);
    const cell = uniform(rng, 0.05, 0.065);
    const creaseWidth = uniform(rng, 0.08, 0.13);
    const ou = uniform(rng, 0, 50);
    const ov = uniform(rng, 0, 50);
    const base = jitterColour(rng, [0.5, 0.22, 0.16], 0.09);
    const seed = noiseSeed(rng);
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    const pxInCells = 1 / (cell * size);
    const sample: WorleySample = { f1: 0, f2: 0, cell: 0 };
    const shade: PixelShader = (x, y, out) => {
      const cx = x - 0.5;
      const cy = y - 0.5;
      let u = (ca * cx + sa * cy) / cell + ou;
      let v = (-sa * cx + ca * cy) / cell + ov;
      u += 0.7 * (fbm(u * 0.4, v * 0.4, seed, 3) - 0.5);
      v += 0.7 * (fbm(u * 0.4 + 9.2, v * 0.4, seed ^ 0x6a09e667, 3) - 0.5);
      const s = worley(u, v, seed ^ 0x3c6ef372, sample);
      const cellTone = 0.92 + 0.16 * s.cell;
      const dome = 1 - 0.45 * s.f1 * s.f1;
      // Creases fade in and out along their length, as on real hide.
      const strength = smoothstep(0.25, 0.7, fbm(u * 0.6, v * 0.6, seed ^ 0x1f83d9ab, 2));
      const width = creaseWidth * (0.6 + 0.8 * strength);
      const crease = (1 - smoothstep(0, width + pxInCells, s.f2 - s.f1)) * (0.35 + 0.65 * strength);
      const fineCells = worley(u * 2.3 + 4.1, v * 2.3, seed ^ 0x5be0cd19, sample);
      const wrinkle = 1 - smoothstep(0, 0.12 + 2.3 * pxInCells, fineCells.f2 - fineCells.f1);
      const fine = valueNoise(x * 70 + ou, y * 70, seed ^ 0x510e527f);
      const poreField = valueNoise(x * 55, y * 55, seed ^ 0x9b05688c);
      const pore = smoothstep(0.8, 0.92, poreField);
      const k = dome * (1 - 0.55 * crease) * (1 - 0.18 * wrinkle) * (0.88 + 0.24 * fine) *
        cellTone * (1 - 0.3 * pore);
      out[0] = base[0] * k;
      out[1] = base[1] * k;
      out[2] = base[2] * k;
    };
    return textureInstance(sampleLighting(rng), size, shade);
  },
};

/** All texture classes, in dataset order. */
export const TEXTURE_CLASSES: readonly SynthClass[] = [woven, grain, grid, leather];
