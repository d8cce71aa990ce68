/**
 * Reading an experiment config from a JSON file: as strict as the flags. A file that is not
 * JSON, not an object, or has an unknown key (top level or in `data`) is an error naming the
 * file and the key.
 * @module
 */
import { DEFAULT_CONFIG, type PartialConfig } from "./config.ts";
import { configShapeProblems } from "./validate_config.ts";

/**
 * Reads and checks the config file at `path`; the values themselves are validated when the
 * config is resolved.
 *
 * @example
 * ```ts
 * import { readConfigFile } from "./config_file.ts";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, '{"epochs": 3, "data": {"classes": ["a"]}}');
 * const config = await readConfigFile(path);
 * await Deno.remove(path);
 * if (config.epochs !== 3) throw new Error("read");
 * ```
 */
export async function readConfigFile(path: string): Promise<PartialConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`config file ${path}: cannot read it (${(e as Error).message})`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`config file ${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const problems = configShapeProblems(value, DEFAULT_CONFIG);
  if (problems.length) throw new Error(`config file ${path}: ${problems.join("; ")}`);
  return value as PartialConfig;
}
