/**
 * Run names: each run's results go to `results/<name>/`, so a name is one plain path segment,
 * and the default name says what was run so that two different runs never share a folder.
 * @module
 */

/**
 * Why `name` cannot be a run name, or undefined if it can: letters, digits, `.`, `_` and `-`,
 * not starting with a dot (so neither `.` nor `..`, which would put the run outside its folder).
 *
 * @example
 * ```ts
 * import { runNameProblem } from "./run_name.ts";
 * if (runNameProblem("rd-joint-ccl") !== undefined) throw new Error("a plain name is fine");
 * if (runNameProblem("..") === undefined) throw new Error(".. leaves the results folder");
 * ```
 */
export function runNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !/^[\w.-]+$/.test(name)) {
    return `name must be one folder name of letters, digits, '.', '_' or '-', got ${
      JSON.stringify(name)
    }`;
  }
  if (name.startsWith(".")) {
    return `name must not start with '.' (it would be a hidden or parent folder), got "${name}"`;
  }
  return undefined;
}

/** The parts of a config the default run name is made of. */
export interface RunNameParts {
  method: string;
  strategy: string;
  ccl: unknown;
  labels: "class" | { pseudoLabels: string };
}

/**
 * The default run name: method, strategy, then `-ccl` (class labels) or `-ccl-pseudo`
 * (pseudo-labels) when CCL is on.
 *
 * @example
 * ```ts
 * import { defaultRunName } from "./run_name.ts";
 * const name = defaultRunName({ method: "rd", strategy: "per-class", ccl: {}, labels: "class" });
 * if (name !== "rd-per-class-ccl") throw new Error(name);
 * ```
 */
export function defaultRunName(parts: RunNameParts): string {
  const ccl = parts.ccl ? (parts.labels === "class" ? "-ccl" : "-ccl-pseudo") : "";
  return `${parts.method}-${parts.strategy}${ccl}`;
}
