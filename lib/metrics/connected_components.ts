/**
 * Connected-component labelling of binary masks: the anomaly regions of AUPRO.
 * @module
 */

import { checkShape } from "./validate.ts";

/** Which neighbours connect: 4 (edges) or 8 (edges and corners). */
export type Connectivity = 4 | 8;

/** The regions of one mask. */
export interface Components {
  /** Per pixel (row-major), the region id 0..count-1, or -1 for background. */
  labels: Int32Array;
  /** Number of regions. */
  count: number;
  /** Pixels per region, indexed by region id. */
  sizes: Uint32Array;
}

/**
 * Labels the connected regions of the non-zero pixels of a row-major `mask` of
 * `shape = [height, width]`. Region ids follow the row-major order of each region's first pixel.
 *
 * @example
 * ```ts
 * import { connectedComponents } from "./connected_components.ts";
 * const mask = new Uint8Array([
 *   1, 0, 0,
 *   0, 1, 0,
 *   0, 0, 1,
 * ]);
 * connectedComponents(mask, [3, 3]).count; // 1 (diagonal neighbours connect)
 * connectedComponents(mask, [3, 3], 4).count; // 3
 * ```
 */
export function connectedComponents(
  mask: ArrayLike<number>,
  shape: readonly [number, number],
  connectivity: Connectivity = 8,
): Components {
  const pixels = checkShape(shape, "connectedComponents");
  if (mask.length !== pixels) {
    throw new Error(
      `connectedComponents: mask has ${mask.length} pixels but shape [${shape.join(", ")}] ` +
        `needs ${pixels}`,
    );
  }
  if (connectivity !== 4 && connectivity !== 8) {
    throw new Error(`connectedComponents: connectivity must be 4 or 8, got ${connectivity}`);
  }
  const [height, width] = shape;
  const labels = new Int32Array(pixels).fill(-1);
  const sizes: number[] = [];
  // Each pixel is pushed at most once (it is labelled when pushed), so `pixels` slots suffice.
  const stack = new Int32Array(pixels);
  for (let start = 0; start < pixels; start++) {
    if (mask[start] === 0 || labels[start] !== -1) continue;
    const region = sizes.length;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = region;
    while (top > 0) {
      const index = stack[--top];
      size++;
      const row = (index / width) | 0;
      const column = index - row * width;
      const rowFrom = row > 0 ? row - 1 : row;
      const rowTo = row < height - 1 ? row + 1 : row;
      const columnFrom = column > 0 ? column - 1 : column;
      const columnTo = column < width - 1 ? column + 1 : column;
      for (let r = rowFrom; r <= rowTo; r++) {
        for (let c = columnFrom; c <= columnTo; c++) {
          if (connectivity === 4 && r !== row && c !== column) continue;
          const neighbour = r * width + c;
          if (mask[neighbour] !== 0 && labels[neighbour] === -1) {
            labels[neighbour] = region;
            stack[top++] = neighbour;
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, count: sizes.length, sizes: Uint32Array.from(sizes) };
}
