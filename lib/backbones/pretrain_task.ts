/**
 * The procedural classification task `small_resnet` is pretrained on: 32 classes of generated
 * patterns (oriented stripes at four angles and two frequencies, checkerboards, dots, rings,
 * spirals, bricks, single shapes, gradients, noise at two scales, mosaics, ...) with random
 * colours, placement, scale and photometric augmentation. It shares nothing with the
 * anomaly-detection data: images are drawn from a seed on the fly, never read from disk.
 *
 * No flips are applied: a horizontal flip turns 45° stripes into 135° stripes, another class.
 * @module
 */
import { mulberry32, randomNormal } from "../util/random.ts";

type Rng = () => number;
type Rgb = [number, number, number];
/** Pixel (x, y) in pixels, centre of the pixel -> foreground weight in [0, 1]. */
type MaskFn = (x: number, y: number) => number;
/** Pixel (x, y) -> colour. */
type ColorFn = (x: number, y: number) => Rgb;

/** Draws one class's pattern into an HWC RGB image with values in [0, 1]. */
type Renderer = (image: Float32Array, size: number, rng: Rng) => void;

/** ImageNet channel means/stds (as lib/data/image.ts; not imported to keep sharp out). */
const MEAN: Rgb = [0.485, 0.456, 0.406];
const STD: Rgb = [0.229, 0.224, 0.225];

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const randomColor = (rng: Rng): Rgb => [rng(), rng(), rng()];

/** Two colours far enough apart that the pattern is visible. */
function colorPair(rng: Rng): [Rgb, Rgb] {
  for (;;) {
    const a = randomColor(rng), b = randomColor(rng);
    const d = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    if (d > 0.45) return [a, b];
  }
}

function paintMask(image: Float32Array, size: number, rng: Rng, mask: MaskFn): void {
  const [fg, bg] = colorPair(rng);
  paintColor(image, size, (x, y) => {
    const m = mask(x, y);
    return [bg[0] + (fg[0] - bg[0]) * m, bg[1] + (fg[1] - bg[1]) * m, bg[2] + (fg[2] - bg[2]) * m];
  });
}

function paintColor(image: Float32Array, size: number, color: ColorFn): void {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = color(x + 0.5, y + 0.5);
      const i = (y * size + x) * 3;
      image[i] = c[0];
      image[i + 1] = c[1];
      image[i + 2] = c[2];
    }
  }
}

/** Soft edge: 1 inside (d < 0), 0 outside, linear over about one pixel. */
const inside = (signedDistance: number) => clamp01(0.5 - signedDistance);

/** Rotated coordinates about the image centre. */
function rotator(size: number, angle: number): (x: number, y: number) => [number, number] {
  const c = Math.cos(angle), s = Math.sin(angle), h = size / 2;
  return (x, y) => [(x - h) * c + (y - h) * s, -(x - h) * s + (y - h) * c];
}

/** Periodic soft square wave of `t` (in periods): sharpness random per image. */
function wave(rng: Rng): (t: number) => number {
  const sharpness = uniform(rng, 1.5, 8);
  const threshold = uniform(rng, -0.4, 0.4);
  return (t) => clamp01(0.5 + (Math.sin(2 * Math.PI * t) - threshold) * sharpness);
}

/** Stripes whose normal points at `angleDeg` (0 = vertical stripes), period in px at 64x64. */
function stripes(angleDeg: number, periodLo: number, periodHi: number): Renderer {
  return (image, size, rng) => {
    const angle = (angleDeg + uniform(rng, -10, 10)) * Math.PI / 180;
    const period = uniform(rng, periodLo, periodHi) * size / 64;
    const phase = rng(), w = wave(rng);
    const rot = rotator(size, angle);
    paintMask(image, size, rng, (x, y) => w(rot(x, y)[0] / period + phase));
  };
}

const checkerboard: Renderer = (image, size, rng) => {
  const cell = uniform(rng, 5, 14) * size / 64;
  const rot = rotator(size, uniform(rng, -0.3, 0.3));
  const ox = rng() * cell, oy = rng() * cell;
  paintMask(image, size, rng, (x, y) => {
    const [u, v] = rot(x, y);
    const a = Math.sin(Math.PI * (u + ox) / cell), b = Math.sin(Math.PI * (v + oy) / cell);
    return clamp01(0.5 + a * b * 6);
  });
};

const polkaDots: Renderer = (image, size, rng) => {
  const spacing = uniform(rng, 8, 16) * size / 64;
  const radius = spacing * uniform(rng, 0.2, 0.4);
  const rot = rotator(size, rng() * Math.PI);
  const ox = rng() * spacing, oy = rng() * spacing;
  paintMask(image, size, rng, (x, y) => {
    const [u, v] = rot(x, y);
    const du = ((u + ox) % spacing + spacing) % spacing - spacing / 2;
    const dv = ((v + oy) % spacing + spacing) % spacing - spacing / 2;
    return inside(Math.hypot(du, dv) - radius);
  });
};

const speckles: Renderer = (image, size, rng) => {
  const count = Math.round(uniform(rng, 20, 60) * (size / 64) ** 2);
  const dots = Array.from({ length: count }, () => ({
    x: rng() * size,
    y: rng() * size,
    r: uniform(rng, 0.8, 2.5) * size / 64,
  }));
  paintMask(image, size, rng, (x, y) => {
    let m = 0;
    for (const d of dots) m = Math.max(m, inside(Math.hypot(x - d.x, y - d.y) - d.r));
    return m;
  });
};

const rings: Renderer = (image, size, rng) => {
  const cx = rng() * size, cy = rng() * size;
  const period = uniform(rng, 4, 10) * size / 64, w = wave(rng);
  paintMask(image, size, rng, (x, y) => w(Math.hypot(x - cx, y - cy) / period));
};

const spiral: Renderer = (image, size, rng) => {
  const cx = uniform(rng, 0.25, 0.75) * size, cy = uniform(rng, 0.25, 0.75) * size;
  const arms = 1 + Math.floor(rng() * 3), period = uniform(rng, 6, 14) * size / 64;
  const sense = rng() < 0.5 ? 1 : -1, w = wave(rng);
  paintMask(image, size, rng, (x, y) => {
    const r = Math.hypot(x - cx, y - cy), theta = Math.atan2(y - cy, x - cx);
    return w(sense * arms * theta / (2 * Math.PI) + r / period);
  });
};

const wavyLines: Renderer = (image, size, rng) => {
  const rot = rotator(size, rng() * Math.PI);
  const period = uniform(rng, 5, 12) * size / 64;
  const amplitude = uniform(rng, 2, 6) * size / 64, wavelength = uniform(rng, 12, 30) * size / 64;
  const w = wave(rng);
  paintMask(image, size, rng, (x, y) => {
    const [u, v] = rot(x, y);
    return w((u + amplitude * Math.sin(2 * Math.PI * v / wavelength)) / period);
  });
};

const zigzag: Renderer = (image, size, rng) => {
  const rot = rotator(size, rng() * Math.PI);
  const period = uniform(rng, 5, 12) * size / 64;
  const amplitude = uniform(rng, 2, 6) * size / 64, wavelength = uniform(rng, 8, 20) * size / 64;
  const w = wave(rng);
  paintMask(image, size, rng, (x, y) => {
    const [u, v] = rot(x, y);
    const t = v / wavelength;
    const triangle = 4 * Math.abs(t - Math.floor(t + 0.5)) - 1;
    return w((u + amplitude * triangle) / period);
  });
};

/** Distance to the nearest multiple of `period`. */
const gridDistance = (t: number, period: number) => {
  const m = ((t % period) + period) % period;
  return Math.min(m, period - m);
};

const crosshatch: Renderer = (image, size, rng) => {
  const rot = rotator(size, rng() * Math.PI / 2);
  const period = uniform(rng, 6, 14) * size / 64, half = uniform(rng, 0.5, 1.5) * size / 64;
  paintMask(image, size, rng, (x, y) => {
    const [u, v] = rot(x, y);
    return inside(Math.min(gridDistance(u, period), gridDistance(v, period)) - half);
  });
};

const bricks: Renderer = (image, size, rng) => {
  const h = uniform(rng, 6, 12) * size / 64, w = h * uniform(rng, 1.8, 3);
  const mortar = uniform(rng, 0.6, 1.4) * size / 64;
  const rot = rotator(size, uniform(rng, -0.2, 0.2) + (rng() < 0.5 ? 0 : Math.PI / 2));
  paintMask(image, size, rng, (x, y) => {
    const [u, v] = rot(x, y);
    const row = Math.floor(v / h);
    const shifted = u + (row % 2 === 0 ? 0 : w / 2);
    return inside(Math.min(gridDistance(v, h), gridDistance(shifted, w)) - mortar);
  });
};

/** A background that is not always flat, so shape classes cannot be told by the background. */
function background(size: number, rng: Rng): ColorFn {
  const [a, b] = [randomColor(rng), randomColor(rng)];
  if (rng() < 0.5) return () => a;
  const angle = rng() * 2 * Math.PI, c = Math.cos(angle), s = Math.sin(angle);
  const strength = uniform(rng, 0.1, 0.4);
  return (x, y) => {
    const t = strength * (0.5 + ((x / size - 0.5) * c + (y / size - 0.5) * s));
    return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
  };
}

/** A single shape (signed distance in pixels) over a background. */
function shape(
  makeDistance: (size: number, rng: Rng) => (x: number, y: number) => number,
): Renderer {
  return (image, size, rng) => {
    const bg = background(size, rng);
    let fg = randomColor(rng);
    const probe = bg(size / 2, size / 2);
    while (Math.hypot(fg[0] - probe[0], fg[1] - probe[1], fg[2] - probe[2]) < 0.45) {
      fg = randomColor(rng);
    }
    const distance = makeDistance(size, rng);
    paintColor(image, size, (x, y) => {
      const m = inside(distance(x, y)), c = bg(x, y);
      return [c[0] + (fg[0] - c[0]) * m, c[1] + (fg[1] - c[1]) * m, c[2] + (fg[2] - c[2]) * m];
    });
  };
}

function randomCentre(size: number, rng: Rng, margin: number): [number, number] {
  return [uniform(rng, margin, size - margin), uniform(rng, margin, size - margin)];
}

/** Signed distance to a convex polygon given counter-clockwise or clockwise. */
function polygonDistance(points: [number, number][]): (x: number, y: number) => number {
  const area = points.reduce((acc, [x0, y0], i) => {
    const [x1, y1] = points[(i + 1) % points.length];
    return acc + x0 * y1 - x1 * y0;
  }, 0);
  const orientation = area > 0 ? 1 : -1;
  const edges = points.map(([x0, y0], i) => {
    const [x1, y1] = points[(i + 1) % points.length];
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    // Outward normal for this orientation.
    return { x0, y0, nx: orientation * (y1 - y0) / len, ny: -orientation * (x1 - x0) / len };
  });
  return (x, y) => {
    let d = -Infinity;
    for (const e of edges) d = Math.max(d, (x - e.x0) * e.nx + (y - e.y0) * e.ny);
    return d;
  };
}

function regularPolygon(
  cx: number,
  cy: number,
  radius: number,
  sides: number,
  rotation: number,
): [number, number][] {
  return Array.from({ length: sides }, (_, k) => {
    const a = rotation + 2 * Math.PI * k / sides;
    return [cx + radius * Math.cos(a), cy + radius * Math.sin(a)] as [number, number];
  });
}

const disk = shape((size, rng) => {
  const r = uniform(rng, 0.15, 0.35) * size;
  const [cx, cy] = randomCentre(size, rng, r * 0.8);
  return (x, y) => Math.hypot(x - cx, y - cy) - r;
});

const annulus = shape((size, rng) => {
  const r = uniform(rng, 0.2, 0.4) * size, inner = r * uniform(rng, 0.45, 0.7);
  const [cx, cy] = randomCentre(size, rng, r * 0.8);
  return (x, y) => {
    const d = Math.hypot(x - cx, y - cy);
    return Math.max(d - r, inner - d);
  };
});

const triangle = shape((size, rng) => {
  const r = uniform(rng, 0.2, 0.4) * size;
  const [cx, cy] = randomCentre(size, rng, r * 0.7);
  // Jittered equilateral triangle: always a clearly three-cornered shape.
  const points = regularPolygon(cx, cy, r, 3, rng() * 2 * Math.PI).map(([x, y]) =>
    [x + uniform(rng, -0.15, 0.15) * r, y + uniform(rng, -0.15, 0.15) * r] as [number, number]
  );
  return polygonDistance(points);
});

const square = shape((size, rng) => {
  const r = uniform(rng, 0.18, 0.35) * size;
  const [cx, cy] = randomCentre(size, rng, r * 0.7);
  return polygonDistance(regularPolygon(cx, cy, r, 4, rng() * Math.PI));
});

const star = shape((size, rng) => {
  const r = uniform(rng, 0.25, 0.42) * size, ratio = uniform(rng, 0.35, 0.5);
  const [cx, cy] = randomCentre(size, rng, r * 0.7);
  const points = 5, rotation = rng() * 2 * Math.PI;
  // A star is the union of the triangles spanned by its inner pentagon and each tip.
  const inner = regularPolygon(cx, cy, r * ratio, points, rotation + Math.PI / points);
  const tips = regularPolygon(cx, cy, r, points, rotation);
  const parts = [polygonDistance(inner)];
  for (let k = 0; k < points; k++) {
    parts.push(polygonDistance([inner[(k + points - 1) % points], tips[k], inner[k]]));
  }
  return (x, y) => Math.min(...parts.map((d) => d(x, y)));
});

const cross = shape((size, rng) => {
  const arm = uniform(rng, 0.25, 0.42) * size, half = uniform(rng, 0.06, 0.12) * size;
  const [cx, cy] = randomCentre(size, rng, arm * 0.7);
  const rot = rotator(size, rng() * Math.PI / 2);
  const [ccx, ccy] = rot(cx, cy);
  const box = (u: number, v: number, a: number, b: number) =>
    Math.max(Math.abs(u) - a, Math.abs(v) - b);
  return (x, y) => {
    const [u, v] = rot(x, y);
    return Math.min(box(u - ccx, v - ccy, arm, half), box(u - ccx, v - ccy, half, arm));
  };
});

const scatteredPolygons: Renderer = (image, size, rng) => {
  const bg = background(size, rng);
  const count = 3 + Math.floor(rng() * 4);
  const polys = Array.from({ length: count }, () => {
    const r = uniform(rng, 0.08, 0.16) * size;
    const [cx, cy] = randomCentre(size, rng, 0);
    const sides = 3 + Math.floor(rng() * 3);
    return {
      d: polygonDistance(regularPolygon(cx, cy, r, sides, rng() * 6.3)),
      c: randomColor(rng),
    };
  });
  paintColor(image, size, (x, y) => {
    let c = bg(x, y);
    for (const p of polys) {
      const m = inside(p.d(x, y));
      if (m > 0) {
        c = [c[0] + (p.c[0] - c[0]) * m, c[1] + (p.c[1] - c[1]) * m, c[2] + (p.c[2] - c[2]) * m];
      }
    }
    return c;
  });
};

const linearGradient: Renderer = (image, size, rng) => {
  const angle = rng() * 2 * Math.PI, c = Math.cos(angle), s = Math.sin(angle);
  paintMask(image, size, rng, (x, y) => clamp01(0.5 + (x / size - 0.5) * c + (y / size - 0.5) * s));
};

const radialGradient: Renderer = (image, size, rng) => {
  const cx = rng() * size, cy = rng() * size, r = uniform(rng, 0.4, 0.9) * size;
  paintMask(image, size, rng, (x, y) => clamp01(1 - Math.hypot(x - cx, y - cy) / r));
};

/** Smooth value noise: bilinear interpolation of a random lattice with `cell` pixels per node. */
function valueNoise(size: number, cell: number, rng: Rng): (x: number, y: number) => number {
  const n = Math.ceil(size / cell) + 2;
  const lattice = Float32Array.from({ length: n * n }, () => rng());
  const smooth = (t: number) => t * t * (3 - 2 * t);
  return (x, y) => {
    const gx = x / cell, gy = y / cell;
    const ix = Math.floor(gx), iy = Math.floor(gy);
    const fx = smooth(gx - ix), fy = smooth(gy - iy);
    const at = (i: number, j: number) => lattice[j * n + i];
    const top = at(ix, iy) + (at(ix + 1, iy) - at(ix, iy)) * fx;
    const bottom = at(ix, iy + 1) + (at(ix + 1, iy + 1) - at(ix, iy + 1)) * fx;
    return top + (bottom - top) * fy;
  };
}

const fineNoise: Renderer = (image, size, rng) => {
  const noise = valueNoise(size, uniform(rng, 1, 2.5) * size / 64, rng);
  paintMask(image, size, rng, noise);
};

const coarseNoise: Renderer = (image, size, rng) => {
  const noise = valueNoise(size, uniform(rng, 12, 24) * size / 64, rng);
  paintMask(image, size, rng, noise);
};

const mosaic: Renderer = (image, size, rng) => {
  const count = 8 + Math.floor(rng() * 13);
  const seeds = Array.from({ length: count }, () => ({
    x: rng() * size,
    y: rng() * size,
    c: randomColor(rng),
  }));
  paintColor(image, size, (x, y) => {
    let best = seeds[0], bestD = Infinity;
    for (const s of seeds) {
      const d = (x - s.x) ** 2 + (y - s.y) ** 2;
      if (d < bestD) [best, bestD] = [s, d];
    }
    return best.c;
  });
};

const lineSegments: Renderer = (image, size, rng) => {
  const count = 5 + Math.floor(rng() * 11);
  const segments = Array.from({ length: count }, () => {
    const x0 = rng() * size, y0 = rng() * size, a = rng() * Math.PI * 2;
    const len = uniform(rng, 0.2, 0.6) * size;
    return {
      x0,
      y0,
      dx: Math.cos(a),
      dy: Math.sin(a),
      len,
      half: uniform(rng, 0.4, 1.2) * size / 64,
    };
  });
  paintMask(image, size, rng, (x, y) => {
    let m = 0;
    for (const s of segments) {
      const t = Math.max(0, Math.min(s.len, (x - s.x0) * s.dx + (y - s.y0) * s.dy));
      m = Math.max(m, inside(Math.hypot(x - s.x0 - t * s.dx, y - s.y0 - t * s.dy) - s.half));
    }
    return m;
  });
};

const halfPlane: Renderer = (image, size, rng) => {
  const angle = rng() * 2 * Math.PI, c = Math.cos(angle), s = Math.sin(angle);
  const offset = uniform(rng, -0.3, 0.3) * size;
  paintMask(image, size, rng, (x, y) => inside((x - size / 2) * c + (y - size / 2) * s - offset));
};

const flat: Renderer = (image, size, rng) => {
  const c = randomColor(rng);
  paintColor(image, size, () => c);
};

/** Class names and their renderers, in class-id order. */
const CLASSES: readonly (readonly [string, Renderer])[] = [
  ["stripes_0_wide", stripes(0, 10, 18)],
  ["stripes_0_narrow", stripes(0, 3.5, 6)],
  ["stripes_45_wide", stripes(45, 10, 18)],
  ["stripes_45_narrow", stripes(45, 3.5, 6)],
  ["stripes_90_wide", stripes(90, 10, 18)],
  ["stripes_90_narrow", stripes(90, 3.5, 6)],
  ["stripes_135_wide", stripes(135, 10, 18)],
  ["stripes_135_narrow", stripes(135, 3.5, 6)],
  ["checkerboard", checkerboard],
  ["polka_dots", polkaDots],
  ["speckles", speckles],
  ["concentric_rings", rings],
  ["spiral", spiral],
  ["wavy_lines", wavyLines],
  ["zigzag", zigzag],
  ["crosshatch", crosshatch],
  ["bricks", bricks],
  ["disk", disk],
  ["annulus", annulus],
  ["triangle", triangle],
  ["square", square],
  ["star", star],
  ["cross", cross],
  ["scattered_polygons", scatteredPolygons],
  ["linear_gradient", linearGradient],
  ["radial_gradient", radialGradient],
  ["fine_noise", fineNoise],
  ["coarse_noise", coarseNoise],
  ["mosaic", mosaic],
  ["line_segments", lineSegments],
  ["half_plane", halfPlane],
  ["flat_colour", flat],
];

/** The class names of the pretraining task, indexed by class id. */
export const PRETRAIN_CLASSES: readonly string[] = CLASSES.map(([name]) => name);

/**
 * Renders one image of class `classId` (HWC RGB in [0, 1]) with photometric augmentation
 * (contrast/brightness jitter, sometimes a 3x3 blur, Gaussian pixel noise).
 */
export function renderPretrainImage(classId: number, size: number, rng: Rng): Float32Array {
  const entry = CLASSES[classId];
  if (!entry) throw new Error(`pretrain class id ${classId} out of range 0..${CLASSES.length - 1}`);
  let image: Float32Array = new Float32Array(size * size * 3);
  entry[1](image, size, rng);
  if (rng() < 0.3) image = boxBlur3(image, size);
  const contrast = uniform(rng, 0.7, 1.2), brightness = uniform(rng, -0.12, 0.12);
  const noise = rng() < 0.5 ? 0 : uniform(rng, 0, 0.06);
  for (let i = 0; i < image.length; i++) {
    const jittered = (image[i] - 0.5) * contrast + 0.5 + brightness;
    image[i] = clamp01(noise > 0 ? jittered + noise * randomNormal(rng) : jittered);
  }
  return image;
}

function boxBlur3(image: Float32Array, size: number): Float32Array {
  const out = new Float32Array(image.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0, n = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= size || xx < 0 || xx >= size) continue;
            sum += image[(yy * size + xx) * 3 + c];
            n++;
          }
        }
        out[(y * size + x) * 3 + c] = sum / n;
      }
    }
  }
  return out;
}

/** A batch of the pretraining task. */
export interface PretrainBatch {
  /** NHWC, ImageNet-normalised, `count * size * size * 3` values. */
  images: Float32Array<ArrayBuffer>;
  labels: Int32Array<ArrayBuffer>;
  count: number;
  size: number;
}

/**
 * `count` images of uniformly drawn classes at `size`x`size`, ImageNet-normalised.
 * Deterministic in the generator's state.
 *
 * @example
 * ```ts
 * import { makePretrainBatch } from "./pretrain_task.ts";
 * import { mulberry32 } from "../util/random.ts";
 * const batch = makePretrainBatch(4, 64, mulberry32(1)); // 4 x 64 x 64 x 3 values
 * ```
 */
export function makePretrainBatch(count: number, size: number, rng: Rng): PretrainBatch {
  const images = new Float32Array(count * size * size * 3);
  const labels = new Int32Array(count);
  for (let b = 0; b < count; b++) {
    labels[b] = Math.floor(rng() * CLASSES.length);
    const image = renderPretrainImage(labels[b], size, rng);
    const offset = b * size * size * 3;
    for (let i = 0; i < image.length; i += 3) {
      for (let c = 0; c < 3; c++) images[offset + i + c] = (image[i + c] - MEAN[c]) / STD[c];
    }
  }
  return { images, labels, count, size };
}

/** A fixed held-out set: `count` images from its own seed, never used for training. */
export function makeHeldOutSet(count: number, size: number, seed: number): PretrainBatch {
  return makePretrainBatch(count, size, mulberry32(seed));
}
