/**
 * A screw head seen from above: a domed round head with a slot or a cross recess, lying on a
 * table. Two classes of the confusable family differ only in that recess (the MVTec "screw"
 * case turned into a detail-level distinction). Parameters are a plain record, so a head can
 * be rendered again with its rim chipped, its recess gone, or its recess off centre.
 * @module
 */

import { clamp, type Rgb, smoothstep } from "./canvas.ts";
import type { Lighting } from "./lighting.ts";
import { fbm, valueNoise } from "./noise.ts";
import { mottled, renderPart } from "./objects.ts";
import { type Rng, sign, uniform } from "./sampling.ts";
import type { DefectType, Scene, SynthInstance } from "./scene.ts";

/** The drive recess of a head. */
export type Recess = "slot" | "cross";

/** Everything that determines one screw-head image. */
export interface HeadParams {
  size: number;
  cx: number;
  cy: number;
  /** Rotation of the recess, radians. */
  angle: number;
  /** Radius of the head, image widths. */
  radius: number;
  recess: Recess;
  /** Half length of a recess arm, as a fraction of the radius. */
  recessLength: number;
  /** Half width of a recess arm, as a fraction of the radius. */
  recessWidth: number;
  /** Offset of the recess from the head's centre (non-zero only when misplaced). */
  recessShift: readonly [number, number];
  /** Whether the recess is there at all (false only for a "missing" defect). */
  hasRecess: boolean;
  /** A bite out of the rim (a "missing" defect), if any. */
  chip?: { angle: number; radius: number };
  metal: Rgb;
  background: Rgb;
  /** Roughness of the table (amplitude of its mottling). */
  mottle: number;
  lightAngle: number;
  seed: number;
  lighting: Lighting;
}

/** Defect types of the screw-head classes. */
export const HEAD_DEFECTS: readonly DefectType[] = [
  "scratch",
  "stain",
  "missing",
  "misplaced",
  "foreign_class",
];

function headDistance(h: HeadParams, x: number, y: number): number {
  let d = Math.hypot(x - h.cx, y - h.cy) - h.radius;
  if (h.chip) {
    const nx = h.cx + h.radius * Math.cos(h.chip.angle);
    const ny = h.cy + h.radius * Math.sin(h.chip.angle);
    d = Math.max(d, h.chip.radius - Math.hypot(x - nx, y - ny));
  }
  return d;
}

/** Signed distance to the recess (negative inside), in image widths. */
function recessDistance(h: HeadParams, x: number, y: number): number {
  if (!h.hasRecess) return Infinity;
  const dx = x - h.cx - h.recessShift[0];
  const dy = y - h.cy - h.recessShift[1];
  const ca = Math.cos(h.angle);
  const sa = Math.sin(h.angle);
  const a = dx * ca + dy * sa;
  const b = -dx * sa + dy * ca;
  const half = h.recessLength * h.radius;
  const width = h.recessWidth * h.radius;
  const box = (p: number, q: number) => {
    const qa = Math.abs(p) - half;
    const qb = Math.abs(q) - width;
    return Math.hypot(Math.max(qa, 0), Math.max(qb, 0)) + Math.min(Math.max(qa, qb), 0);
  };
  const arm = box(a, b);
  return h.recess === "slot" ? arm : Math.min(arm, box(b, a));
}

function renderHead(h: HeadParams): Scene {
  const lx = Math.cos(h.lightAngle);
  const ly = Math.sin(h.lightAngle);
  return renderPart(h.size, {
    distance: (x, y) => headDistance(h, x, y),
    colour(x, y, out) {
      const dx = (x - h.cx) / h.radius;
      const dy = (y - h.cy) / h.radius;
      const rho = clamp(Math.hypot(dx, dy), 0, 1);
      // A dome lit from `lightAngle`: brighter on the side that faces the light.
      const dome = Math.sqrt(1 - rho * rho);
      const facing = (dx * lx + dy * ly) * 0.35;
      let k = 0.45 + 0.35 * dome + facing * (1 - dome) +
        0.35 * Math.exp(-(((dx - 0.35 * lx) ** 2 + (dy - 0.35 * ly) ** 2) / 0.04));
      k *= 0.93 + 0.14 * valueNoise(rho * h.size * 0.6, 2.5, h.seed);
      const inRecess = clamp(0.5 - recessDistance(h, x, y) * h.size, 0, 1);
      if (inRecess > 0) {
        // The recess is a shadowed pit whose far wall catches a little light.
        const wall = 0.18 + 0.2 * smoothstep(-0.6, 0.6, -(dx * lx + dy * ly));
        k += (wall - k) * inRecess;
      }
      k *= 0.95 + 0.1 * fbm(x * 8, y * 8, h.seed ^ 0x68e31da4, 2);
      out[0] = h.metal[0] * k;
      out[1] = h.metal[1] * k;
      out[2] = h.metal[2] * k;
    },
    background: (x, y, out) => mottled(h.background, h.seed ^ 0x5f356495, h.mottle, out, x, y),
    shadowOffset: [
      0.014 * Math.cos(h.lightAngle + Math.PI),
      0.014 * Math.sin(h.lightAngle + Math.PI),
    ],
    shadowStrength: 0.5,
  });
}

/** One head as a renderable instance that can also be damaged structurally. */
export function headInstance(h: HeadParams): SynthInstance {
  return {
    lighting: h.lighting,
    render: () => renderHead(h),
    withMissingPart(rng: Rng): SynthInstance {
      // Either a chip out of the rim or a head whose recess was never cut.
      if (rng() < 0.5) return headInstance({ ...h, hasRecess: false });
      return headInstance({
        ...h,
        chip: { angle: uniform(rng, 0, 2 * Math.PI), radius: uniform(rng, 0.3, 0.45) * h.radius },
      });
    },
    withMisplacedPart(rng: Rng): SynthInstance {
      const theta = uniform(rng, 0, 2 * Math.PI);
      const shift = sign(rng) * uniform(rng, 0.25, 0.35) * h.radius;
      return headInstance({
        ...h,
        recessShift: [shift * Math.cos(theta), shift * Math.sin(theta)],
      });
    },
  };
}
