/**
 * The confusable family of synthetic classes: eleven classes that share low-level statistics,
 * made so that a normal patch of one class is plausible inside another. Groups of classes come
 * from one generator each:
 *
 * - `weave_fine`, `weave_medium`, `weave_coarse`: one plain-weave generator at nearby thread
 *   pitch and angle, palettes shifted a little;
 * - `grain_fine`, `grain_coarse`: one wood-grain generator at nearby ring frequencies;
 * - `screw_slot`, `screw_cross`: screw heads seen from above that differ in the recess only;
 * - `disc_one_hole`, `disc_two_holes`: turned discs with one bolt hole or two;
 * - `pill_plain`, `pill_imprint`: capsule tablets without or with a printed mark;
 *
 * and every object lies on the same grey table.
 *
 * The **confusability** `t` in [0, 1] moves every class's design (its centre parameters: pitch,
 * angle, ring frequency, size, palette, background) along a straight line from a distinct look
 * (`t = 0`: own palette, own background, own scale) to a near-duplicate of its group (`t = 1`:
 * the group's members differ only in their detail: pitch by 5%, slot vs cross, one hole vs
 * two, imprint or none). The per-image randomness (pose, phase, lighting, noise) is drawn in
 * the same order at every level, so two levels render the same scenes with other designs.
 *
 * **Nearest class** (the source of a `foreign_class` patch): the class of the same generator
 * whose design vector is closest, in Euclidean distance, at the same `t`. A design vector
 * lists the generator's centre parameters, each divided by a fixed scale (radians / 0.5,
 * pitch / 0.03, ring frequency / 5, sizes / 0.1, colours / 0.3 per channel, details such as
 * the number of holes as 0/1 flags); classes of other generators are never nearest. See
 * {@linkcode nearestConfusableClass}; `lib/data/synth/measure.ts` also reports the nearest
 * class by backbone features, to check this definition against what a network sees.
 * @module
 */

import type { Rgb } from "./canvas.ts";
import { HEAD_DEFECTS, headInstance, type Recess } from "./heads.ts";
import { sampleLighting } from "./lighting.ts";
import {
  jitterColour,
  PILL_DEFECTS,
  pillInstance,
  sampleSpecks,
  WASHER_DEFECTS,
  washerInstance,
} from "./objects.ts";
import { noiseSeed, type Rng, uniform } from "./sampling.ts";
import type { DefectType, SynthClass, SynthInstance, SynthKind } from "./scene.ts";
import { grainInstance, TEXTURE_DEFECTS, weaveInstance } from "./textures.ts";

/**
 * The default confusability: the level at which k-means on the shipped backbone's pooled
 * features of the training normals recovers the classes with a V-measure clearly below 1
 * (measured in `results/synth_confusability.json`).
 */
export const DEFAULT_CONFUSABILITY = 0.75;

/** A design value: a number or a colour. */
type DesignValue = number | Rgb;

/** A class's design at one level: named centre parameters. */
type Design = Record<string, DesignValue>;

/** How one confusable class is defined. */
interface ConfusableSpec {
  name: string;
  kind: SynthKind;
  /** Classes with the same generator are candidates for each other's foreign patches. */
  generator: "weave" | "grain" | "head" | "disc" | "pill";
  /** What a normal image looks like, at the distinct and near-duplicate ends. */
  description: string;
  defects: readonly DefectType[];
  /** Design at t = 0 (distinct) and t = 1 (near-duplicate); same keys. */
  far: Design;
  near: Design;
  /** Draws one image's randomness and renders it with `design`. */
  sample(design: Design, rng: Rng, size: number): SynthInstance;
}

/** Scale each design parameter is divided by in the design vector. */
const DESIGN_SCALES: Readonly<Record<string, number>> = {
  angle: 0.5,
  pitch: 0.03,
  ringFreq: 5,
  knot: 0.5,
  mottle: 0.3,
  radius: 0.1,
  outer: 0.1,
  inner: 0.1,
  halfLength: 0.1,
  metal: 0.3,
  background: 0.3,
  warp: 0.3,
  weft: 0.3,
  light: 0.3,
  dark: 0.3,
  body: 0.3,
  speck: 0.3,
  cross: 1,
  holes: 1,
  print: 1,
};

/** The table every object lies on when the classes are near-duplicates. */
const SHARED_TABLE: Rgb = [0.43, 0.44, 0.46];

const num = (d: Design, key: string) => d[key] as number;
const rgb = (d: Design, key: string) => d[key] as Rgb;

function weaveSample(design: Design, rng: Rng, size: number): SynthInstance {
  const angle = num(design, "angle") + uniform(rng, -0.08, 0.08);
  const pitch = num(design, "pitch") * uniform(rng, 0.95, 1.05);
  return weaveInstance(rng, size, {
    angle,
    pitch,
    warp: rgb(design, "warp"),
    weft: rgb(design, "weft"),
  });
}

function grainSample(design: Design, rng: Rng, size: number): SynthInstance {
  const angle = num(design, "angle") + uniform(rng, -0.12, 0.12);
  const ringFreq = num(design, "ringFreq") * uniform(rng, 0.85, 1.15);
  return grainInstance(rng, size, {
    angle,
    ringFreq,
    light: rgb(design, "light"),
    dark: rgb(design, "dark"),
    knotChance: num(design, "knot"),
  });
}

function headSample(design: Design, rng: Rng, size: number): SynthInstance {
  const recess: Recess = num(design, "cross") > 0.5 ? "cross" : "slot";
  return headInstance({
    size,
    cx: 0.5 + uniform(rng, -0.06, 0.06),
    cy: 0.5 + uniform(rng, -0.06, 0.06),
    // A slot looks the same turned by half a turn, a cross by a quarter.
    angle: uniform(rng, 0, Math.PI),
    radius: num(design, "radius") * uniform(rng, 0.97, 1.03),
    recess,
    recessLength: uniform(rng, 0.62, 0.72),
    recessWidth: uniform(rng, 0.1, 0.13),
    recessShift: [0, 0],
    hasRecess: true,
    metal: jitterColour(rng, rgb(design, "metal"), 0.06),
    background: jitterColour(rng, rgb(design, "background"), 0.08),
    mottle: num(design, "mottle"),
    lightAngle: uniform(rng, 0, 2 * Math.PI),
    seed: noiseSeed(rng),
    lighting: sampleLighting(rng),
  });
}

function discSample(design: Design, rng: Rng, size: number): SynthInstance {
  const count = num(design, "holes") > 0.5 ? 2 : 1;
  const outer = num(design, "outer") * uniform(rng, 0.97, 1.03);
  const phase = uniform(rng, 0, 2 * Math.PI);
  const boltRadius = outer * uniform(rng, 0.64, 0.67);
  return washerInstance({
    size,
    cx: 0.5 + uniform(rng, -0.05, 0.05),
    cy: 0.5 + uniform(rng, -0.05, 0.05),
    outer,
    inner: num(design, "inner") * uniform(rng, 0.95, 1.05),
    holeRadius: outer * uniform(rng, 0.12, 0.135),
    holes: Array.from({ length: count }, (_, i) => ({
      angle: phase + i * Math.PI,
      radius: boltRadius,
      filled: false,
    })),
    metal: jitterColour(rng, rgb(design, "metal"), 0.06),
    background: jitterColour(rng, rgb(design, "background"), 0.08),
    lightAngle: uniform(rng, 0, 2 * Math.PI),
    seed: noiseSeed(rng),
    lighting: sampleLighting(rng),
  });
}

function pillSample(design: Design, rng: Rng, size: number): SynthInstance {
  const halfLength = num(design, "halfLength") * uniform(rng, 0.95, 1.05);
  const radius = num(design, "radius") * uniform(rng, 0.97, 1.03);
  const printA = 0.12 + uniform(rng, -0.005, 0.005);
  const printed = num(design, "print") > 0.5;
  return pillInstance({
    size,
    cx: 0.5 + uniform(rng, -0.04, 0.04),
    cy: 0.5 + uniform(rng, -0.04, 0.04),
    angle: uniform(rng, -0.1, 0.1),
    halfLength,
    radius,
    specks: sampleSpecks(rng, halfLength, radius),
    ...(printed ? { print: { a: printA, b: 0, angle: 0, height: 0.085 } } : {}),
    body: jitterColour(rng, rgb(design, "body"), 0.04),
    ink: jitterColour(rng, [0.6, 0.14, 0.11], 0.1),
    speckColour: jitterColour(rng, rgb(design, "speck"), 0.1),
    background: jitterColour(rng, rgb(design, "background"), 0.1),
    seed: noiseSeed(rng),
    lighting: sampleLighting(rng),
  });
}

const INDIGO: Rgb = [0.26, 0.31, 0.44];
const GREY_BLUE: Rgb = [0.53, 0.55, 0.59];
const HONEY: Rgb = [0.8, 0.6, 0.37];
const HONEY_DARK: Rgb = [0.5, 0.3, 0.15];
const STEEL: Rgb = [0.73, 0.74, 0.76];
const CREAM: Rgb = [0.93, 0.9, 0.83];
const RED_SPECK: Rgb = [0.72, 0.32, 0.26];

/** The confusable classes, in dataset order. */
const SPECS: readonly ConfusableSpec[] = [
  {
    name: "weave_fine",
    kind: "texture",
    generator: "weave",
    description: "plain-weave fabric, fine pitch; from indigo on grey to the group's shared look",
    defects: TEXTURE_DEFECTS,
    far: { angle: 0, pitch: 0.045, warp: INDIGO, weft: GREY_BLUE },
    near: { angle: -0.05, pitch: 0.058, warp: INDIGO, weft: GREY_BLUE },
    sample: weaveSample,
  },
  {
    name: "weave_medium",
    kind: "texture",
    generator: "weave",
    description: "plain-weave fabric, medium pitch; from red on cream to the group's shared look",
    defects: TEXTURE_DEFECTS,
    far: { angle: 0.45, pitch: 0.075, warp: [0.58, 0.2, 0.18], weft: [0.86, 0.8, 0.66] },
    near: { angle: 0, pitch: 0.061, warp: [0.27, 0.31, 0.43], weft: [0.54, 0.55, 0.58] },
    sample: weaveSample,
  },
  {
    name: "weave_coarse",
    kind: "texture",
    generator: "weave",
    description:
      "plain-weave fabric, coarse pitch; from green on yellow to the group's shared look",
    defects: TEXTURE_DEFECTS,
    far: { angle: -0.5, pitch: 0.1, warp: [0.2, 0.42, 0.22], weft: [0.82, 0.76, 0.36] },
    near: { angle: 0.05, pitch: 0.064, warp: [0.25, 0.32, 0.44], weft: [0.52, 0.56, 0.59] },
    sample: weaveSample,
  },
  {
    name: "grain_fine",
    kind: "texture",
    generator: "grain",
    description: "wood grain, many narrow rings; from pale ash to honey",
    defects: TEXTURE_DEFECTS,
    far: { angle: 0, ringFreq: 14, knot: 0.1, light: [0.86, 0.78, 0.64], dark: [0.56, 0.47, 0.37] },
    near: { angle: 0, ringFreq: 9, knot: 0.3, light: HONEY, dark: HONEY_DARK },
    sample: grainSample,
  },
  {
    name: "grain_coarse",
    kind: "texture",
    generator: "grain",
    description: "wood grain, few wide rings; from dark walnut across the frame to honey",
    defects: TEXTURE_DEFECTS,
    far: {
      angle: Math.PI / 2,
      ringFreq: 4.5,
      knot: 0.5,
      light: [0.6, 0.36, 0.22],
      dark: [0.3, 0.15, 0.08],
    },
    near: { angle: 0, ringFreq: 7.5, knot: 0.3, light: [0.79, 0.6, 0.38], dark: HONEY_DARK },
    sample: grainSample,
  },
  {
    name: "screw_slot",
    kind: "object",
    generator: "head",
    description: "domed screw head with a slot, seen from above; from big brass on white to steel",
    defects: HEAD_DEFECTS,
    far: {
      radius: 0.36,
      cross: 0,
      mottle: 0.05,
      metal: [0.8, 0.63, 0.32],
      background: [0.88, 0.86, 0.8],
    },
    near: { radius: 0.28, cross: 0, mottle: 0.25, metal: STEEL, background: SHARED_TABLE },
    sample: headSample,
  },
  {
    name: "screw_cross",
    kind: "object",
    generator: "head",
    description:
      "domed screw head with a cross recess, seen from above; from small on dark to grey",
    defects: HEAD_DEFECTS,
    far: {
      radius: 0.19,
      cross: 1,
      mottle: 0.6,
      metal: [0.74, 0.75, 0.78],
      background: [0.12, 0.13, 0.16],
    },
    near: { radius: 0.28, cross: 1, mottle: 0.25, metal: STEEL, background: SHARED_TABLE },
    sample: headSample,
  },
  {
    name: "disc_one_hole",
    kind: "object",
    generator: "disc",
    description: "turned steel disc with a centre bore and one bolt hole",
    defects: WASHER_DEFECTS,
    far: {
      outer: 0.37,
      inner: 0.11,
      holes: 0,
      metal: [0.78, 0.79, 0.82],
      background: [0.19, 0.22, 0.27],
    },
    near: { outer: 0.35, inner: 0.1, holes: 0, metal: STEEL, background: SHARED_TABLE },
    sample: discSample,
  },
  {
    name: "disc_two_holes",
    kind: "object",
    generator: "disc",
    description: "turned disc with a centre bore and two opposite bolt holes; from copper to steel",
    defects: WASHER_DEFECTS,
    far: {
      outer: 0.3,
      inner: 0.06,
      holes: 1,
      metal: [0.82, 0.52, 0.36],
      background: [0.22, 0.34, 0.24],
    },
    near: { outer: 0.35, inner: 0.1, holes: 1, metal: STEEL, background: SHARED_TABLE },
    sample: discSample,
  },
  {
    name: "pill_plain",
    kind: "object",
    generator: "pill",
    description: "unprinted capsule tablet with specks; from blue on tan to cream on grey",
    defects: PILL_DEFECTS.filter((d) => d !== "misplaced"),
    far: {
      halfLength: 0.15,
      radius: 0.17,
      print: 0,
      body: [0.42, 0.58, 0.85],
      speck: [0.2, 0.3, 0.6],
      background: [0.55, 0.5, 0.42],
    },
    near: {
      halfLength: 0.2,
      radius: 0.155,
      print: 0,
      body: CREAM,
      speck: RED_SPECK,
      background: SHARED_TABLE,
    },
    sample: pillSample,
  },
  {
    name: "pill_imprint",
    kind: "object",
    generator: "pill",
    description: "capsule tablet with specks and a printed mark; from a dark tray to grey",
    defects: PILL_DEFECTS,
    far: {
      halfLength: 0.21,
      radius: 0.15,
      print: 1,
      body: CREAM,
      speck: RED_SPECK,
      background: [0.07, 0.09, 0.08],
    },
    near: {
      halfLength: 0.2,
      radius: 0.155,
      print: 1,
      body: CREAM,
      speck: RED_SPECK,
      background: SHARED_TABLE,
    },
    sample: pillSample,
  },
];

/** Names of the confusable classes, in dataset order. */
export const CONFUSABLE_CLASS_NAMES: readonly string[] = SPECS.map((s) => s.name);

/**
 * Checks a confusability level; throws naming the bad value.
 *
 * @example
 * ```ts
 * import { requireConfusability } from "./confusable.ts";
 * requireConfusability(0.5); // 0.5
 * ```
 */
export function requireConfusability(value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(
      `synthetic dataset: confusability must be a number in [0, 1], got ${value}`,
    );
  }
  return value;
}

function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/** A spec's design at level `t`: every parameter on the line from `far` to `near`. */
function designAt(spec: ConfusableSpec, t: number): Design {
  const out: Design = {};
  for (const [key, far] of Object.entries(spec.far)) {
    const near = spec.near[key];
    out[key] = typeof far === "number"
      ? lerp(far, near as number, t)
      : [0, 1, 2].map((c) => lerp(far[c], (near as Rgb)[c], t)) as unknown as Rgb;
  }
  return out;
}

/** The design vector of a spec at `t` (see the module docs). */
function designVector(spec: ConfusableSpec, t: number): number[] {
  const design = designAt(spec, t);
  return Object.keys(design).sort().flatMap((key) => {
    const scale = DESIGN_SCALES[key];
    if (scale === undefined) throw new Error(`confusable class ${spec.name}: no scale for ${key}`);
    const value = design[key];
    return typeof value === "number" ? [value / scale] : value.map((v) => v / scale);
  });
}

function specOf(name: string): ConfusableSpec {
  const spec = SPECS.find((s) => s.name === name);
  if (!spec) {
    throw new Error(
      `unknown confusable class "${name}"; known classes: ${CONFUSABLE_CLASS_NAMES.join(", ")}`,
    );
  }
  return spec;
}

/**
 * Distance between two classes' designs at level `t`; Infinity across generators.
 *
 * @example
 * ```ts
 * import { confusableDesignDistance } from "./confusable.ts";
 * const far = confusableDesignDistance("screw_slot", "screw_cross", 0);
 * const near = confusableDesignDistance("screw_slot", "screw_cross", 1);
 * near < far; // true
 * ```
 */
export function confusableDesignDistance(a: string, b: string, t: number): number {
  const sa = specOf(a);
  const sb = specOf(b);
  if (sa.generator !== sb.generator) return Infinity;
  const va = designVector(sa, t);
  const vb = designVector(sb, t);
  return Math.hypot(...va.map((v, i) => v - vb[i]));
}

/**
 * The class nearest to `name` at level `t` by design distance, among `among` (default: all
 * confusable classes); undefined when none of them shares its generator.
 *
 * @example
 * ```ts
 * import { nearestConfusableClass } from "./confusable.ts";
 * nearestConfusableClass("pill_plain", 0.5); // "pill_imprint"
 * ```
 */
export function nearestConfusableClass(
  name: string,
  t: number,
  among: readonly string[] = CONFUSABLE_CLASS_NAMES,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const other of among) {
    if (other === name) continue;
    const d = confusableDesignDistance(name, other, t);
    if (d < bestDistance) [best, bestDistance] = [other, d];
  }
  return best;
}

/**
 * The confusable classes at level `t`, as renderable classes.
 *
 * @example
 * ```ts
 * import { confusableClasses } from "./confusable.ts";
 * import { mulberry32 } from "../../util/random.ts";
 * const [fine] = confusableClasses(0.5);
 * fine.sample(mulberry32(0), 64).render().image.width; // 64
 * ```
 */
export function confusableClasses(t: number): SynthClass[] {
  requireConfusability(t);
  return SPECS.map((spec) => {
    const design = designAt(spec, t);
    return {
      name: spec.name,
      kind: spec.kind,
      description: spec.description,
      defects: spec.defects,
      sample: (rng: Rng, size: number) => spec.sample(design, rng, size),
    };
  });
}
