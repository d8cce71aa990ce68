/**
 * Drawing one defect into a rendered scene. Each drawer returns the changed (still unlit)
 * image and what it changed: an alpha map for surface defects, or the re-rendered scene for
 * structural ones. Turning that into an exact binary mask is the caller's job (see sample.ts),
 * because "visibly changed" is judged on the final, lit pixels.
 * @module
 */

import {
  clamp,
  cloneRgbCanvas,
  type GrayCanvas,
  lumaAt,
  type Rgb,
  type RgbCanvas,
} from "./canvas.ts";
import { SYNTH_CLASSES } from "./classes.ts";
import { fbm } from "./noise.ts";
import { noiseSeed, pick, type Rng, sign, uniform } from "./sampling.ts";
import type { DefectType, Scene, SynthClass, SynthInstance } from "./scene.ts";
import { blobAlpha, type Point, quadraticBezier, strokeAlpha } from "./shapes.ts";

/** What a defect drawer gets. */
export interface AnomalyContext {
  /** The class of the image being damaged. */
  synthClass: SynthClass;
  /** The normal instance and its rendering. */
  instance: SynthInstance;
  scene: Scene;
  size: number;
  rng: Rng;
  /**
   * Classes a `foreign_class` patch may come from, chosen uniformly (default: every other
   * class of the distinct family).
   */
  foreignSources?: readonly SynthClass[];
}

/** What a defect drawer changed. */
export type AnomalyDrawing =
  | {
    /** A surface defect: blended into the image with weight `alpha`. */
    kind: "surface";
    image: RgbCanvas;
    alpha: GrayCanvas;
    /** For `foreign_class`: the class whose appearance was pasted in. */
    sourceClass?: string;
  }
  | {
    /** A structural defect: the part itself was re-rendered differently. */
    kind: "structural";
    scene: Scene;
  };

/**
 * Draws one defect of type `defect` into `ctx.scene` (which is left unchanged).
 *
 * @example
 * ```ts
 * import { drawAnomaly } from "./anomalies.ts";
 * import { getSynthClass } from "./classes.ts";
 * import { mulberry32 } from "../../util/random.ts";
 * const rng = mulberry32(1);
 * const synthClass = getSynthClass("grain");
 * const instance = synthClass.sample(rng, 64);
 * const drawing = drawAnomaly("stain", { synthClass, instance, scene: instance.render(), size: 64, rng });
 * ```
 */
export function drawAnomaly(defect: DefectType, ctx: AnomalyContext): AnomalyDrawing {
  switch (defect) {
    case "scratch":
      return drawScratch(ctx);
    case "hole":
      return drawHole(ctx);
    case "stain":
      return drawStain(ctx);
    case "crack":
      return drawCrack(ctx);
    case "missing":
      return ctx.instance.withMissingPart
        ? { kind: "structural", scene: ctx.instance.withMissingPart(ctx.rng).render() }
        : drawWornPatch(ctx);
    case "misplaced":
      if (!ctx.instance.withMisplacedPart) {
        throw new Error(`class "${ctx.synthClass.name}" has no part that can be misplaced`);
      }
      return { kind: "structural", scene: ctx.instance.withMisplacedPart(ctx.rng).render() };
    case "foreign_class":
      return drawForeignPatch(ctx);
  }
}

/**
 * A random point well inside the part (objects) or away from the border (textures), so that
 * a defect placed there lands on the surface it is meant to damage.
 */
function pointOnSurface(ctx: AnomalyContext, margin: number): Point {
  return pointOnPart(ctx.scene, ctx.size, ctx.rng, margin, ctx.synthClass.name);
}

function pointOnPart(scene: Scene, size: number, rng: Rng, margin: number, name: string): Point {
  for (let attempt = 0; attempt < 400; attempt++) {
    const x = uniform(rng, margin, 1 - margin);
    const y = uniform(rng, margin, 1 - margin);
    const p = Math.min(size - 1, Math.floor(y * size)) * size +
      Math.min(size - 1, Math.floor(x * size));
    if (scene.foreground.data[p] > 0.95) return [x, y];
  }
  throw new Error(`class "${name}": no foreground to place a defect on`);
}

/** Multiplies an alpha map by the part's coverage, so surface defects stay on the part. */
function onForeground(alpha: GrayCanvas, scene: Scene): GrayCanvas {
  const fg = scene.foreground.data;
  for (let i = 0; i < alpha.data.length; i++) alpha.data[i] *= fg[i];
  return alpha;
}

/** Mean luma of the scene under a blob of alpha, to pick a defect colour that contrasts. */
function meanLumaUnder(scene: Scene, alpha: GrayCanvas): number {
  let sum = 0;
  let weight = 0;
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p];
    if (a > 0) {
      sum += a * lumaAt(scene.image, p);
      weight += a;
    }
  }
  return weight > 0 ? sum / weight : 0.5;
}

/** Pixel width of thin features, growing with the image so they look the same at any size. */
function thinHalfWidthPx(size: number): number {
  return 0.5 * Math.max(1.15, size / 100);
}

function drawScratch(ctx: AnomalyContext): AnomalyDrawing {
  const { rng, size, scene } = ctx;
  const object = ctx.synthClass.kind === "object";
  const centre = pointOnSurface(ctx, 0.15);
  const length = object ? uniform(rng, 0.12, 0.3) : uniform(rng, 0.15, 0.4);
  const half = thinHalfWidthPx(size) * uniform(rng, 1, 1.5);
  // On a part, of a few random headings keep the one that stays on the part longest (a
  // scratch across a thin screw would otherwise be a few pixels long).
  let alpha: GrayCanvas | undefined;
  let best = -1;
  for (let candidate = 0; candidate < (object ? 4 : 1); candidate++) {
    const theta = uniform(rng, 0, 2 * Math.PI);
    const dx = Math.cos(theta) * length / 2;
    const dy = Math.sin(theta) * length / 2;
    const bend = uniform(rng, -0.3, 0.3);
    const points = quadraticBezier(
      [centre[0] - dx, centre[1] - dy],
      [centre[0] - dy * 2 * bend, centre[1] + dx * 2 * bend],
      [centre[0] + dx, centre[1] + dy],
      24,
    );
    // Scratches taper at both ends.
    const widths = points.map((_, i) => half * (0.55 + 0.45 * Math.sin(Math.PI * i / 24)));
    const a = onForeground(strokeAlpha(size, [{ points, halfWidthPx: widths }]), scene);
    const total = a.data.reduce((sum, v) => sum + v, 0);
    if (total > best) {
      best = total;
      alpha = a;
    }
  }
  if (!alpha) throw new Error("drawScratch: no candidate drawn");
  const luma = meanLumaUnder(scene, alpha);
  const dark = luma > 0.5 ? true : luma < 0.3 ? false : rng() < 0.5;
  const image = cloneRgbCanvas(scene.image);
  const d = image.data;
  const darken = uniform(rng, 0.25, 0.45);
  const shine = uniform(rng, 0.65, 0.85);
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p] * 0.95;
    if (a <= 0) continue;
    for (let c = 0; c < 3; c++) {
      const v = d[p * 3 + c];
      const target = dark ? v * darken : v + (0.95 - v) * shine;
      d[p * 3 + c] = v + (target - v) * a;
    }
  }
  return { kind: "surface", image, alpha };
}

function drawHole(ctx: AnomalyContext): AnomalyDrawing {
  const { rng, size, scene } = ctx;
  const radius = uniform(rng, 0.03, 0.085);
  const alpha = onForeground(
    blobAlpha(size, {
      centre: pointOnSurface(ctx, 0.12),
      radius,
      irregularity: uniform(rng, 0.15, 0.35),
      softnessPx: 1.2,
      seed: noiseSeed(rng),
    }),
    scene,
  );
  const seed = noiseSeed(rng);
  const image = cloneRgbCanvas(scene.image);
  const d = image.data;
  const depth: Rgb = [
    uniform(rng, 0.03, 0.07),
    uniform(rng, 0.025, 0.05),
    uniform(rng, 0.02, 0.04),
  ];
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p];
    if (a <= 0) continue;
    const x = (p % size) / size;
    const y = Math.floor(p / size) / size;
    // Torn fibres at the bottom of the hole catch a little light.
    const k = 0.6 + 0.9 * fbm(x * 40, y * 40, seed, 2);
    for (let c = 0; c < 3; c++) {
      const v = d[p * 3 + c];
      d[p * 3 + c] = v + (depth[c] * k - v) * a;
    }
  }
  return { kind: "surface", image, alpha };
}

/** Stain colours: rust, oil, blue ink, green coolant, white residue. */
const STAIN_COLOURS: readonly Rgb[] = [
  [0.62, 0.33, 0.1],
  [0.2, 0.17, 0.1],
  [0.18, 0.28, 0.68],
  [0.3, 0.58, 0.28],
  [0.92, 0.9, 0.82],
];

function drawStain(ctx: AnomalyContext): AnomalyDrawing {
  const { rng, size, scene } = ctx;
  const object = ctx.synthClass.kind === "object";
  const radius = object ? uniform(rng, 0.04, 0.1) : uniform(rng, 0.05, 0.13);
  const alpha = onForeground(
    blobAlpha(size, {
      centre: pointOnSurface(ctx, 0.12),
      radius,
      irregularity: uniform(rng, 0.3, 0.5),
      softnessPx: uniform(rng, 1.5, 3),
      seed: noiseSeed(rng),
    }),
    scene,
  );
  const colour = pick(rng, STAIN_COLOURS);
  const opacity = uniform(rng, 0.55, 0.85);
  const seed = noiseSeed(rng);
  const image = cloneRgbCanvas(scene.image);
  const d = image.data;
  for (let p = 0; p < alpha.data.length; p++) {
    const a0 = alpha.data[p];
    if (a0 <= 0) continue;
    const x = (p % size) / size;
    const y = Math.floor(p / size) / size;
    // A stain soaks in unevenly and is darkest at its drying rim.
    const uneven = 0.7 + 0.3 * fbm(x * 18, y * 18, seed, 3);
    const rim = 1 + 0.35 * (a0 > 0.1 && a0 < 0.9 ? 1 : 0);
    const a = clamp(a0 * opacity * uneven * rim, 0, 1);
    for (let c = 0; c < 3; c++) {
      const v = d[p * 3 + c];
      // Half tinting (multiply) and half covering, so it shows on dark and light surfaces.
      const target = 0.5 * v * colour[c] * 1.4 + 0.5 * colour[c];
      d[p * 3 + c] = v + (target - v) * a;
    }
  }
  return { kind: "surface", image, alpha };
}

function crackPath(rng: Rng, start: Point, heading: number, length: number, step: number) {
  const points: Point[] = [start];
  let [x, y] = start;
  let theta = heading;
  const steps = Math.max(3, Math.round(length / step));
  for (let i = 0; i < steps; i++) {
    theta += uniform(rng, -0.45, 0.45);
    x += Math.cos(theta) * step;
    y += Math.sin(theta) * step;
    points.push([x, y]);
  }
  return { points, heading: theta };
}

function drawCrack(ctx: AnomalyContext): AnomalyDrawing {
  const { rng, size, scene } = ctx;
  const object = ctx.synthClass.kind === "object";
  const length = object ? uniform(rng, 0.12, 0.25) : uniform(rng, 0.15, 0.35);
  const step = Math.max(1.5 / size, 0.018);
  const heading = uniform(rng, 0, 2 * Math.PI);
  const centre = pointOnSurface(ctx, 0.15);
  // Grow from the centre in both directions so that the crack is centred on the surface.
  const forward = crackPath(rng, centre, heading, length / 2, step);
  const backward = crackPath(rng, centre, heading + Math.PI, length / 2, step);
  const main = [...backward.points.slice(1).reverse(), ...forward.points];
  const half = thinHalfWidthPx(size) * uniform(rng, 1, 1.3);
  const taper = (n: number, scale: number) =>
    Array.from({ length: n }, (_, i) => scale * (0.6 + 0.4 * Math.sin(Math.PI * i / (n - 1))));
  const strokes = [{ points: main, halfWidthPx: taper(main.length, half) }];
  const branches = 1 + Math.floor(rng() * 3);
  for (let b = 0; b < branches; b++) {
    const from = main[1 + Math.floor(rng() * (main.length - 2))];
    const branch = crackPath(
      rng,
      from,
      heading + sign(rng) * uniform(rng, 0.5, 1.1) + (rng() < 0.5 ? Math.PI : 0),
      length * uniform(rng, 0.2, 0.45),
      step,
    );
    strokes.push({
      points: branch.points,
      halfWidthPx: taper(branch.points.length, half * 0.8).map((w, i, all) =>
        i === all.length - 1 ? w * 0.5 : w
      ),
    });
  }
  const alpha = onForeground(strokeAlpha(size, strokes), scene);
  const darken = uniform(rng, 0.12, 0.3);
  const image = cloneRgbCanvas(scene.image);
  const d = image.data;
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p];
    if (a <= 0) continue;
    for (let c = 0; c < 3; c++) d[p * 3 + c] *= 1 - (1 - darken) * a;
  }
  return { kind: "surface", image, alpha };
}

/** Textures' "missing": the pattern is worn off a patch, leaving flat, slightly off-tone base. */
function drawWornPatch(ctx: AnomalyContext): AnomalyDrawing {
  const { rng, size, scene } = ctx;
  const alpha = blobAlpha(size, {
    centre: pointOnSurface(ctx, 0.15),
    radius: uniform(rng, 0.06, 0.12),
    irregularity: uniform(rng, 0.2, 0.4),
    softnessPx: uniform(rng, 1.2, 2.5),
    seed: noiseSeed(rng),
  });
  const mean = [0, 0, 0];
  let weight = 0;
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p];
    for (let c = 0; c < 3; c++) mean[c] += a * scene.image.data[p * 3 + c];
    weight += a;
  }
  const tone = rng() < 0.5 ? uniform(rng, 0.7, 0.85) : uniform(rng, 1.15, 1.35);
  const seed = noiseSeed(rng);
  const image = cloneRgbCanvas(scene.image);
  const d = image.data;
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p];
    if (a <= 0) continue;
    const x = (p % size) / size;
    const y = Math.floor(p / size) / size;
    const k = tone * (0.93 + 0.14 * fbm(x * 10, y * 10, seed, 2));
    for (let c = 0; c < 3; c++) {
      const v = d[p * 3 + c];
      d[p * 3 + c] = v + ((mean[c] / weight) * k - v) * a;
    }
  }
  return { kind: "surface", image, alpha };
}

/**
 * A patch of another class's normal appearance, pasted with a soft blob edge: locally
 * perfect "normal" content, of the wrong class.
 */
function drawForeignPatch(ctx: AnomalyContext): AnomalyDrawing {
  const { rng, size, scene } = ctx;
  const others = ctx.foreignSources ??
    SYNTH_CLASSES.filter((c) => c.name !== ctx.synthClass.name);
  const source = pick(rng, others);
  const foreign = source.sample(rng, size).render();
  const centre: Point = ctx.synthClass.kind === "object"
    ? pointOnSurface(ctx, 0.2)
    : [uniform(rng, 0.3, 0.7), uniform(rng, 0.3, 0.7)];
  // Cut the patch from the source's part (for objects), not from its bare background, and
  // move it to `centre`.
  const from = source.kind === "object"
    ? pointOnPart(foreign, size, rng, 0.2, source.name)
    : centre;
  const shiftX = Math.round((from[0] - centre[0]) * size);
  const shiftY = Math.round((from[1] - centre[1]) * size);
  const alpha = blobAlpha(size, {
    centre,
    radius: uniform(rng, 0.08, 0.16),
    irregularity: uniform(rng, 0.15, 0.35),
    softnessPx: uniform(rng, 1.5, 2.5),
    seed: noiseSeed(rng),
  });
  const image = cloneRgbCanvas(scene.image);
  const d = image.data;
  for (let p = 0; p < alpha.data.length; p++) {
    const a = alpha.data[p];
    if (a <= 0) continue;
    const sx = clamp((p % size) + shiftX, 0, size - 1);
    const sy = clamp(Math.floor(p / size) + shiftY, 0, size - 1);
    const q = (sy * size + sx) * 3;
    for (let c = 0; c < 3; c++) d[p * 3 + c] += (foreign.image.data[q + c] - d[p * 3 + c]) * a;
  }
  return { kind: "surface", image, alpha, sourceClass: source.name };
}
