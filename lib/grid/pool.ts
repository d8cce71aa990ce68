/**
 * A small worker pool: runs async jobs with at most N at once, in order of the items.
 * @module
 */

/**
 * Runs `work` on every item with at most `workers` running at once; results come back in the
 * order of `items`. A job that throws does not stop the others; the first error is rethrown
 * once all have settled.
 *
 * @example
 * ```ts
 * import { mapConcurrent } from "./pool.ts";
 * let running = 0, peak = 0;
 * const out = await mapConcurrent([1, 2, 3, 4], 2, async (n) => {
 *   peak = Math.max(peak, ++running);
 *   await new Promise((r) => setTimeout(r, 5));
 *   running--;
 *   return n * 10;
 * });
 * if (out.join() !== "10,20,30,40" || peak !== 2) throw new Error(`${out} ${peak}`);
 * ```
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  workers: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be a positive integer, got ${workers}`);
  }
  const results = new Array<R>(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index], index);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, worker));
  if (errors.length) throw errors[0];
  return results;
}
