/**
 * Paths as results record them: relative to the repository when inside it, so committed
 * results do not carry one machine's folder layout; absolute otherwise.
 * @module
 */
import { fromFileUrl, isAbsolute, relative, resolve, SEPARATOR } from "@std/path";

/** The repository root (the folder holding `lib/`). */
export const REPO_ROOT: string = fromFileUrl(new URL("../../", import.meta.url));

/**
 * `path` relative to `root` (default: the repository) when it lies inside it, else absolute.
 *
 * @example
 * ```ts
 * import { recordedPath } from "./repo_path.ts";
 * if (recordedPath("/data/x", "/repo") !== "/data/x") throw new Error("outside: absolute");
 * if (recordedPath("/repo/.cache/d", "/repo") !== ".cache/d") throw new Error("inside: relative");
 * ```
 */
export function recordedPath(path: string, root: string = REPO_ROOT): string {
  const absolute = resolve(path);
  const rel = relative(resolve(root), absolute);
  if (rel === "") return ".";
  if (rel === ".." || rel.startsWith(`..${SEPARATOR}`) || isAbsolute(rel)) return absolute;
  return rel;
}
