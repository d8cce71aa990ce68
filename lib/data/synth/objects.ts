/**
 * The object classes of the synthetic dataset: one part lying on a background, drawn with
 * anti-aliased signed-distance shapes, a soft drop shadow and material shading. Parameters are
 * plain records, so an instance can be rendered again with a part removed or displaced.
 * @module
 */

import { clamp, createGrayCanvas, createRgbCanvas, type Rgb, smoothstep } from "./canvas.ts";
import { type Lighting, sampleLighting } from "./lighting.ts";
import { fbm, valueNoise } from "./noise.ts";
import { integer, noiseSeed, type Rng, sign, uniform } from "./sampling.ts";
import type { DefectType, Scene, SynthClass, SynthInstance } from "./scene.ts";

/** Signed distance (normalised units, negative inside) of a part, and the shading it asks for. */
export interface PartShader {
  /** Signed distance from point (x, y) to the part's outline. */
  distance(x: number, y: number): number;
  /** Colour of the part at (x, y), which lies inside or on the outline, into `out`. */
  colour(x: number, y: number, out: number[]): void;
  /** Colour of the bare background at (x, y), into `out`. */
  background(x: number, y: number, out: number[]): void;
  /** Where the shadow falls, relative to the part. */
  shadowOffset: readonly [number, number];
  /** How dark the shadow is at its core (0 = none). */
  shadowStrength: number;
}

export function renderPart(size: number, part: PartShader): Scene {
  const image = createRgbCanvas(size, size);
  const foreground = createGrayCanvas(size, size);
  const bg = [0, 0, 0];
  const fg = [0, 0, 0];
  const [sdx, sdy] = part.shadowOffset;
  const softness = 0.03;
  for (let py = 0; py < size; py++) {
    const y = (py + 0.5) / size;
    for (let px = 0; px < size; px++) {
      const x = (px + 0.5) / size;
      const p = py * size + px;
      part.background(x, y, bg);
      const ds = part.distance(x - sdx, y - sdy);
      const shadow = part.shadowStrength * (1 - smoothstep(-softness * 0.4, softness, ds));
      const k = 1 - shadow;
      let r = bg[0] * k;
      let g = bg[1] * k;
      let b = bg[2] * k;
      const cov = clamp(0.5 - part.distance(x, y) * size, 0, 1);
      if (cov > 0) {
        part.colour(x, y, fg);
        r += (fg[0] - r) * cov;
        g += (fg[1] - g) * cov;
        b += (fg[2] - b) * cov;
      }
      image.data[p * 3] = r;
      image.data[p * 3 + 1] = g;
      image.data[p * 3 + 2] = b;
      foreground.data[p] = cov;
    }
  }
  return { image, foreground };
}

export function jitterColour(rng: Rng, base: Rgb, amount: number): Rgb {
  const brightness = uniform(rng, 1 - amount, 1 + amount);
  return [
    base[0] * brightness * uniform(rng, 0.97, 1.03),
    base[1] * brightness * uniform(rng, 0.97, 1.03),
    base[2] * brightness * uniform(rng, 0.97, 1.03),
  ];
}

/** Mottled background: `colour` modulated by low-frequency fBm and fine grain. */
export function mottled(
  colour: Rgb,
  seed: number,
  amount: number,
  out: number[],
  x: number,
  y: number,
) {
  const k = 1 + amount * (fbm(x * 4, y * 4, seed, 3) - 0.5) +
    0.5 * amount * (valueNoise(x * 90, y * 90, seed ^ 0x7feb352d) - 0.5);
  out[0] = colour[0] * k;
  out[1] = colour[1] * k;
  out[2] = colour[2] * k;
}

// ---------------------------------------------------------------------------------------------
// Washer: a turned steel disc with a centre bore and a ring of bolt holes.

/** One bolt hole of a washer. */
export interface BoltHole {
  angle: number;
  radius: number;
  filled: boolean;
}

/** Everything that determines one washer image. */
export interface WasherParams {
  size: number;
  cx: number;
  cy: number;
  outer: number;
  inner: number;
  holeRadius: number;
  holes: BoltHole[];
  /** A bite out of the rim (a missing part), if any. */
  notch?: { angle: number; radius: number };
  metal: Rgb;
  background: Rgb;
  lightAngle: number;
  seed: number;
  lighting: Lighting;
}

export const WASHER_DEFECTS: readonly DefectType[] = [
  "scratch",
  "stain",
  "crack",
  "missing",
  "misplaced",
  "foreign_class",
];

function washerDistance(w: WasherParams, x: number, y: number): number {
  const dx = x - w.cx;
  const dy = y - w.cy;
  const rho = Math.hypot(dx, dy);
  let d = Math.max(rho - w.outer, w.inner - rho);
  for (const h of w.holes) {
    if (h.filled) continue;
    const hx = w.cx + h.radius * Math.cos(h.angle);
    const hy = w.cy + h.radius * Math.sin(h.angle);
    d = Math.max(d, w.holeRadius - Math.hypot(x - hx, y - hy));
  }
  if (w.notch) {
    const nx = w.cx + w.outer * Math.cos(w.notch.angle);
    const ny = w.cy + w.outer * Math.sin(w.notch.angle);
    d = Math.max(d, w.notch.radius - Math.hypot(x - nx, y - ny));
  }
  return d;
}

function renderWasher(w: WasherParams): Scene {
  const lx = Math.cos(w.lightAngle);
  const ly = Math.sin(w.lightAngle);
  const bevel = 0.022;
  const eps = 0.5 / w.size;
  return renderPart(w.size, {
    distance: (x, y) => washerDistance(w, x, y),
    colour(x, y, out) {
      const dx = x - w.cx;
      const dy = y - w.cy;
      const rho = Math.hypot(dx, dy);
      const angle = Math.atan2(dy, dx);
      // Turning marks: fine concentric rings, and a bright band across the lathe direction.
      const rings = valueNoise(rho * w.size * 0.8, 3.5, w.seed);
      const aniso = Math.pow(0.5 + 0.5 * Math.cos(2 * (angle - w.lightAngle - Math.PI / 2)), 3);
      let k = 0.55 + 0.14 * (rings - 0.5) + 0.32 * aniso;
      // Bevelled edges catch or lose the light depending on which way they face.
      const d = washerDistance(w, x, y);
      const inside = -d;
      if (inside < bevel) {
        const gx = washerDistance(w, x + eps, y) - washerDistance(w, x - eps, y);
        const gy = washerDistance(w, x, y + eps) - washerDistance(w, x, y - eps);
        const gl = Math.hypot(gx, gy) || 1;
        const facing = (gx * lx + gy * ly) / gl;
        k += 0.4 * facing * (1 - inside / bevel);
      }
      k *= 0.94 + 0.12 * fbm(x * 5, y * 5, w.seed ^ 0x2f6b3a1d, 3);
      out[0] = w.metal[0] * k;
      out[1] = w.metal[1] * k;
      out[2] = w.metal[2] * k;
    },
    background: (x, y, out) => mottled(w.background, w.seed ^ 0x1b873593, 0.3, out, x, y),
    shadowOffset: [
      0.012 * Math.cos(w.lightAngle + Math.PI),
      0.012 * Math.sin(w.lightAngle + Math.PI),
    ],
    shadowStrength: 0.6,
  });
}

export function washerInstance(w: WasherParams): SynthInstance {
  return {
    lighting: w.lighting,
    render: () => renderWasher(w),
    withMissingPart(rng: Rng): SynthInstance {
      if (rng() < 0.5) {
        const k = integer(rng, 0, w.holes.length - 1);
        const holes = w.holes.map((h, i) => (i === k ? { ...h, filled: true } : h));
        return washerInstance({ ...w, holes });
      }
      // The bite sits between two bolt holes so that it removes rim, not a hole's outline.
      const k = integer(rng, 0, w.holes.length - 1);
      const between = w.holes[k].angle + Math.PI / w.holes.length + uniform(rng, -0.2, 0.2);
      return washerInstance({
        ...w,
        notch: { angle: between, radius: uniform(rng, 0.045, 0.08) },
      });
    },
    withMisplacedPart(rng: Rng): SynthInstance {
      const k = integer(rng, 0, w.holes.length - 1);
      const holes = w.holes.map((h, i) => {
        if (i !== k) return h;
        return rng() < 0.5
          ? { ...h, angle: h.angle + sign(rng) * uniform(rng, 0.3, 0.45) }
          : { ...h, radius: h.radius + sign(rng) * uniform(rng, 0.04, 0.055) };
      });
      return washerInstance({ ...w, holes });
    },
  };
}

/** A turned steel washer with a centre bore and four bolt holes, on a dark slate table. */
export const washer: SynthClass = {
  name: "washer",
  kind: "object",
  description: "turned steel washer with centre bore and four bolt holes on dark slate",
  defects: WASHER_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    const phase = uniform(rng, 0, Math.PI / 2);
    const boltRadius = uniform(rng, 0.235, 0.245);
    const holes: BoltHole[] = [0, 1, 2, 3].map((i) => ({
      angle: phase + (i * Math.PI) / 2,
      radius: boltRadius,
      filled: false,
    }));
    return washerInstance({
      size,
      cx: 0.5 + uniform(rng, -0.05, 0.05),
      cy: 0.5 + uniform(rng, -0.05, 0.05),
      outer: uniform(rng, 0.35, 0.37),
      inner: uniform(rng, 0.105, 0.115),
      holeRadius: uniform(rng, 0.043, 0.048),
      holes,
      metal: jitterColour(rng, [0.78, 0.79, 0.82], 0.06),
      background: jitterColour(rng, [0.19, 0.22, 0.27], 0.12),
      lightAngle: uniform(rng, 0, 2 * Math.PI),
      seed: noiseSeed(rng),
      lighting: sampleLighting(rng),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Screw: a threaded steel screw seen from the side, lying at any angle on a light table.

/** Everything that determines one screw image. */
interface ScrewParams {
  size: number;
  cx: number;
  cy: number;
  angle: number;
  length: number;
  shaftRadius: number;
  headLength: number;
  headHalfWidth: number;
  tipLength: number;
  pitch: number;
  /** Sideways offset of the head from the shaft axis (non-zero only when misplaced). */
  headShift: number;
  /** Axial position where the shaft breaks off (missing tip), if any. */
  brokenAt?: number;
  metal: Rgb;
  background: Rgb;
  seed: number;
  lighting: Lighting;
}

export const SCREW_DEFECTS: readonly DefectType[] = [
  "scratch",
  "stain",
  "missing",
  "misplaced",
  "foreign_class",
];

/** Position along the axis (from the centre, head at negative) and across it. */
function screwLocal(s: ScrewParams, x: number, y: number): [number, number] {
  const dx = x - s.cx;
  const dy = y - s.cy;
  const ca = Math.cos(s.angle);
  const sa = Math.sin(s.angle);
  return [dx * ca + dy * sa, -dx * sa + dy * ca];
}

function screwHeadDistance(s: ScrewParams, a: number, b: number): number {
  const half = s.headLength / 2;
  const corner = 0.4 * half;
  const qa = Math.abs(a - (-s.length / 2 + half)) - (half - corner);
  const qb = Math.abs(b - s.headShift) - (s.headHalfWidth - corner);
  return Math.hypot(Math.max(qa, 0), Math.max(qb, 0)) + Math.min(Math.max(qa, qb), 0) - corner;
}

function screwShaftRadius(s: ScrewParams, a: number, b: number): number {
  const tipEnd = s.length / 2;
  const taper = clamp((tipEnd - a) / s.tipLength, 0, 1);
  let r = s.shaftRadius * (taper < 1 ? 0.12 + 0.88 * Math.sqrt(taper) : 1);
  const threadStart = -s.length / 2 + s.headLength + 0.05;
  if (a > threadStart) {
    // The two flanks of a helix are half a pitch apart, so the teeth alternate sides.
    const phase = a / s.pitch + (b > 0 ? 0 : 0.5);
    const saw = Math.abs(phase - Math.floor(phase) - 0.5) * 2;
    r -= 0.22 * s.shaftRadius * saw * Math.min(1, taper * 2);
  }
  return r;
}

function screwShaftDistance(s: ScrewParams, a: number, b: number): number {
  const headEnd = -s.length / 2 + s.headLength;
  let d = Math.max(Math.abs(b) - screwShaftRadius(s, a, b), headEnd - 0.01 - a, a - s.length / 2);
  if (s.brokenAt !== undefined) {
    const jag = 0.02 * (valueNoise(b * 60, 0.5, s.seed ^ 0x3a5f1c27) - 0.5);
    d = Math.max(d, a - s.brokenAt - jag);
  }
  return d;
}

function renderScrew(s: ScrewParams): Scene {
  const threadStart = -s.length / 2 + s.headLength + 0.05;
  return renderPart(s.size, {
    distance(x, y) {
      const [a, b] = screwLocal(s, x, y);
      return Math.min(screwHeadDistance(s, a, b), screwShaftDistance(s, a, b));
    },
    colour(x, y, out) {
      const [a, b] = screwLocal(s, x, y);
      const inHead = screwHeadDistance(s, a, b) < screwShaftDistance(s, a, b);
      let k: number;
      if (inHead) {
        const nb = clamp((b - s.headShift) / s.headHalfWidth, -1, 1);
        const along = clamp((a + s.length / 2) / s.headLength, 0, 1);
        k = 0.35 + 0.45 * Math.sqrt(1 - nb * nb) + 0.45 * Math.exp(-((nb + 0.4) ** 2) / 0.03) -
          0.25 * smoothstep(0.75, 1, along);
      } else {
        const r = Math.max(screwShaftRadius(s, a, b), 1e-4);
        const nb = clamp(b / (s.shaftRadius * 1.05), -1, 1);
        const cylinder = Math.sqrt(1 - nb * nb);
        const spec = Math.exp(-((nb + 0.4) ** 2) / 0.025);
        let stripe = 1;
        if (a > threadStart) {
          stripe = 0.55 + 0.45 * (0.5 + 0.5 * Math.cos(2 * Math.PI * (a + 0.35 * b) / s.pitch));
        }
        k = (0.25 + 0.5 * cylinder) * stripe + 0.5 * spec * stripe + 0.1 * (r / s.shaftRadius);
        if (s.brokenAt !== undefined && a > s.brokenAt - 0.015) k *= 0.7;
      }
      k *= 0.92 + 0.16 * valueNoise(a * 140, b * 140, s.seed);
      out[0] = s.metal[0] * k;
      out[1] = s.metal[1] * k;
      out[2] = s.metal[2] * k;
    },
    background: (x, y, out) => mottled(s.background, s.seed ^ 0x4cf5ad43, 0.12, out, x, y),
    shadowOffset: [0.012, 0.018],
    shadowStrength: 0.35,
  });
}

function screwInstance(s: ScrewParams): SynthInstance {
  return {
    lighting: s.lighting,
    render: () => renderScrew(s),
    withMissingPart(rng: Rng): SynthInstance {
      const cut = uniform(rng, 0.13, 0.24) * s.length;
      return screwInstance({ ...s, brokenAt: s.length / 2 - cut });
    },
    withMisplacedPart(rng: Rng): SynthInstance {
      return screwInstance({ ...s, headShift: sign(rng) * uniform(rng, 0.04, 0.06) });
    },
  };
}

/** A threaded steel screw, side view, at a random angle on a light grey table. */
export const screw: SynthClass = {
  name: "screw",
  kind: "object",
  description: "threaded steel screw seen from the side, at any angle on a light grey table",
  defects: SCREW_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    return screwInstance({
      size,
      cx: 0.5 + uniform(rng, -0.08, 0.08),
      cy: 0.5 + uniform(rng, -0.08, 0.08),
      angle: uniform(rng, 0, 2 * Math.PI),
      length: uniform(rng, 0.6, 0.66),
      shaftRadius: uniform(rng, 0.043, 0.048),
      headLength: uniform(rng, 0.07, 0.08),
      headHalfWidth: uniform(rng, 0.09, 0.1),
      tipLength: uniform(rng, 0.1, 0.12),
      pitch: uniform(rng, 0.03, 0.034),
      headShift: 0,
      metal: jitterColour(rng, [0.6, 0.6, 0.62], 0.08),
      background: jitterColour(rng, [0.83, 0.82, 0.79], 0.05),
      seed: noiseSeed(rng),
      lighting: sampleLighting(rng),
    });
  },
};

// ---------------------------------------------------------------------------------------------
// Pill: a cream capsule tablet with red specks and a printed mark, on a dark tray.

/** A speck of colour in the pill's local frame. */
export interface Speck {
  a: number;
  b: number;
  radius: number;
  strength: number;
}

/** Everything that determines one pill image. */
export interface PillParams {
  size: number;
  cx: number;
  cy: number;
  angle: number;
  halfLength: number;
  radius: number;
  specks: Speck[];
  /** Where the print sits in the pill's frame, and its rotation; absent: an unprinted pill. */
  print?: { a: number; b: number; angle: number; height: number };
  /** A broken-off end (missing part), if any: everything beyond `side * a > at` is gone. */
  cut?: { at: number; side: number };
  body: Rgb;
  ink: Rgb;
  speckColour: Rgb;
  background: Rgb;
  seed: number;
  lighting: Lighting;
}

export const PILL_DEFECTS: readonly DefectType[] = [
  "scratch",
  "stain",
  "crack",
  "missing",
  "misplaced",
  "foreign_class",
];

/** Strokes of the printed mark "FF", in glyph units (height 1). */
const PRINT_STROKES: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0, 0, 1],
  [0, 0, 0.55, 0],
  [0, 0.48, 0.42, 0.48],
  [0.85, 0, 0.85, 1],
  [0.85, 0, 1.4, 0],
  [0.85, 0.48, 1.27, 0.48],
];

function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const vx = bx - ax;
  const vy = by - ay;
  const t = clamp(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy || 1), 0, 1);
  return Math.hypot(px - ax - t * vx, py - ay - t * vy);
}

function pillLocal(p: PillParams, x: number, y: number): [number, number] {
  const dx = x - p.cx;
  const dy = y - p.cy;
  const ca = Math.cos(p.angle);
  const sa = Math.sin(p.angle);
  return [dx * ca + dy * sa, -dx * sa + dy * ca];
}

function pillDistance(p: PillParams, x: number, y: number): number {
  const [a, b] = pillLocal(p, x, y);
  const along = Math.max(Math.abs(a) - p.halfLength, 0);
  let d = Math.hypot(along, b) - p.radius;
  if (p.cut) {
    const jag = 0.035 * (valueNoise(b * 45, 0.5, p.seed ^ 0x6c8e9cf5) - 0.5);
    d = Math.max(d, p.cut.side * a - p.cut.at - jag);
  }
  return d;
}

function printInk(p: PillParams, a: number, b: number): number {
  const { print } = p;
  if (!print) return 0;
  const ca = Math.cos(print.angle);
  const sa = Math.sin(print.angle);
  // Glyph frame: gx along the pill axis, gy across it, both in units of the print height.
  const da = a - print.a;
  const db = b - print.b;
  const gx = (da * ca + db * sa) / print.height + 0.7;
  const gy = (-da * sa + db * ca) / print.height + 0.5;
  if (gx < -0.3 || gx > 1.7 || gy < -0.3 || gy > 1.3) return 0;
  const halfStroke = Math.max(0.07, 0.6 / (p.size * print.height));
  let d = Infinity;
  for (const [x0, y0, x1, y1] of PRINT_STROKES) {
    d = Math.min(d, segmentDistance(gx, gy, x0, y0, x1, y1));
  }
  return clamp((halfStroke - d) * p.size * print.height + 0.5, 0, 1);
}

function renderPill(p: PillParams): Scene {
  return renderPart(p.size, {
    distance: (x, y) => pillDistance(p, x, y),
    colour(x, y, out) {
      const [a, b] = pillLocal(p, x, y);
      const along = Math.max(Math.abs(a) - p.halfLength, 0);
      const n = clamp(Math.hypot(along, b) / p.radius, 0, 1);
      const dome = Math.sqrt(1 - n * n);
      let k = 0.62 + 0.38 * dome;
      k *= 0.96 + 0.08 * fbm(a * 12, b * 12, p.seed, 3);
      let r = p.body[0] * k;
      let g = p.body[1] * k;
      let bl = p.body[2] * k;
      for (const s of p.specks) {
        const d = Math.hypot(a - s.a, b - s.b);
        const cov = clamp((s.radius - d) * p.size + 0.5, 0, 1) * s.strength;
        if (cov > 0) {
          r += (p.speckColour[0] * k - r) * cov;
          g += (p.speckColour[1] * k - g) * cov;
          bl += (p.speckColour[2] * k - bl) * cov;
        }
      }
      const ink = printInk(p, a, b) * 0.9;
      r += (p.ink[0] - r) * ink;
      g += (p.ink[1] - g) * ink;
      bl += (p.ink[2] - bl) * ink;
      const spec = 0.2 * Math.exp(-(((b + 0.45 * p.radius) / (0.2 * p.radius)) ** 2)) *
        (1 - smoothstep(p.halfLength * 0.6, p.halfLength + p.radius * 0.6, Math.abs(a)));
      let broken = 1;
      if (p.cut) broken = 0.78 + 0.22 * smoothstep(0, 0.03, p.cut.at - p.cut.side * a);
      out[0] = (r + spec) * broken;
      out[1] = (g + spec) * broken;
      out[2] = (bl + spec) * broken;
    },
    background: (x, y, out) => mottled(p.background, p.seed ^ 0x2127599b, 0.35, out, x, y),
    shadowOffset: [0.01, 0.016],
    shadowStrength: 0.6,
  });
}

export function pillInstance(p: PillParams): SynthInstance {
  return {
    lighting: p.lighting,
    render: () => renderPill(p),
    withMissingPart(rng: Rng): SynthInstance {
      // Break off one end: 25-45% of the pill's length.
      const total = p.halfLength + p.radius;
      const at = total - uniform(rng, 0.5, 0.9) * total;
      return pillInstance({ ...p, cut: { at, side: sign(rng) } });
    },
    withMisplacedPart(rng: Rng): SynthInstance {
      if (!p.print) throw new Error("an unprinted pill has no part that can be misplaced");
      return pillInstance({
        ...p,
        print: {
          ...p.print,
          a: p.print.a + sign(rng) * uniform(rng, 0.04, 0.08),
          b: p.print.b + sign(rng) * uniform(rng, 0.03, 0.05),
          angle: p.print.angle + sign(rng) * uniform(rng, 0.25, 0.5),
        },
      });
    },
  };
}

export function sampleSpecks(rng: Rng, halfLength: number, radius: number): Speck[] {
  const count = integer(rng, 10, 26);
  const specks: Speck[] = [];
  while (specks.length < count) {
    const a = uniform(rng, -halfLength - radius, halfLength + radius);
    const b = uniform(rng, -radius, radius);
    const along = Math.max(Math.abs(a) - halfLength, 0);
    if (Math.hypot(along, b) > radius * 0.85) continue;
    specks.push({ a, b, radius: uniform(rng, 0.004, 0.009), strength: uniform(rng, 0.4, 0.9) });
  }
  return specks;
}

/** A cream capsule tablet with red-brown specks and a printed "FF", on a dark green tray. */
export const pill: SynthClass = {
  name: "pill",
  kind: "object",
  description: "cream capsule tablet with red-brown specks and a printed mark on a dark tray",
  defects: PILL_DEFECTS,
  sample(rng: Rng, size: number): SynthInstance {
    const halfLength = uniform(rng, 0.19, 0.21);
    const radius = uniform(rng, 0.15, 0.16);
    return pillInstance({
      size,
      cx: 0.5 + uniform(rng, -0.04, 0.04),
      cy: 0.5 + uniform(rng, -0.04, 0.04),
      angle: uniform(rng, -0.1, 0.1),
      halfLength,
      radius,
      specks: sampleSpecks(rng, halfLength, radius),
      print: { a: 0.12 + uniform(rng, -0.005, 0.005), b: 0, angle: 0, height: 0.085 },
      body: jitterColour(rng, [0.93, 0.9, 0.83], 0.04),
      ink: jitterColour(rng, [0.6, 0.14, 0.11], 0.1),
      speckColour: jitterColour(rng, [0.72, 0.32, 0.26], 0.1),
      background: jitterColour(rng, [0.07, 0.09, 0.08], 0.15),
      seed: noiseSeed(rng),
      lighting: sampleLighting(rng),
    });
  },
};

/** All object classes, in dataset order. */
export const OBJECT_CLASSES: readonly SynthClass[] = [washer, screw, pill];
