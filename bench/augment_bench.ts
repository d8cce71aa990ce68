/**
 * CCL's augmented view: one 128x128 image through every augmentation. About 1 ms per image on
 * one core.
 *
 * Run: deno bench -A bench/augment_bench.ts
 */
import { augmentView } from "../lib/data/augment.ts";
import { mulberry32 } from "../lib/util/random.ts";

const side = 128;
const image = Float32Array.from({ length: side * side * 3 }, (_, i) => (i % 251) / 250);
const rng = mulberry32(1);

Deno.bench("augmentView 128x128", () => {
  augmentView(image, [side, side], rng);
});
