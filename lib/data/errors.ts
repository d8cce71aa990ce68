/**
 * The one error type the dataset readers and loaders throw.
 * @module
 */

/**
 * A dataset problem: a missing mask, a corrupt image, a malformed split file, an empty class.
 * The message always names the offending file or folder; `path` holds it for programs.
 *
 * @example
 * ```ts
 * import { DatasetError } from "./errors.ts";
 * try {
 *   throw new DatasetError("mask missing for anomalous image", "/data/carpet/test/cut/000.png");
 * } catch (e) {
 *   if (e instanceof DatasetError) console.log(e.path);
 * }
 * ```
 */
export class DatasetError extends Error {
  /** The file or folder the problem is about. */
  readonly path: string;

  /**
   * @param problem what is wrong; the path is appended unless the text already contains it
   * @param path the file or folder concerned
   * @param options `cause`: the underlying error, when there is one
   */
  constructor(problem: string, path: string, options?: { cause?: unknown }) {
    super(problem.includes(path) ? problem : `${problem}: ${path}`, options);
    this.name = "DatasetError";
    this.path = path;
  }
}
