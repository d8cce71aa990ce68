/**
 * The fingerprint of a config: a short hash of everything in it that changes the trained model,
 * stored in checkpoints so that a resume or an evaluation under another config is refused.
 * @module
 */
import { sha256Hex } from "../data/fingerprint.ts";
import { textureFolderFingerprint } from "../methods/synthetic/texture_folder.ts";
import type { ExperimentConfig } from "./config.ts";

/** Config keys that do not change the trained model. */
const NOT_FINGERPRINTED = ["name", "evalEvery"];

/**
 * A short hash of `config` without `name` and `evalEvery`, independent of key order and of
 * whether the config went through JSON (a saved `config.json` gives its run's fingerprint).
 * With `textures`, the hash also covers the texture folder's content (file list and bytes, read
 * now), so a checkpoint trained on other textures is refused by `--resume` and `eval`. Without
 * it the hash is what it was before the key existed.
 *
 * @example
 * ```ts
 * import { configFingerprint } from "./fingerprint.ts";
 * import { resolveConfig } from "./config.ts";
 * const a = await configFingerprint(resolveConfig({ epochs: 3, name: "a" }));
 * const b = await configFingerprint(resolveConfig({ name: "b", epochs: 3 }));
 * if (a !== b) throw new Error("names do not change the model");
 * ```
 */
export async function configFingerprint(config: ExperimentConfig): Promise<string> {
  const part = modelPart(config);
  if (typeof config.textures === "string") {
    part.texturesContent = (await textureFolderFingerprint(config.textures)).hash;
  }
  return await sha256Hex(stableJson(part));
}

/**
 * The differences between two configs in the fields that change the model, one line each
 * (`epochs: 3 -> 4`, `data.root: "a" -> "b"`); empty when they train the same model.
 */
export function configChanges(before: ExperimentConfig, after: ExperimentConfig): string[] {
  const a = modelPart(before);
  const b = modelPart(after);
  const changes: string[] = [];
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const [x, y] = [a[key], b[key]];
    if (stableJson(x) === stableJson(y)) continue;
    if (isPlainObject(x) && isPlainObject(y)) {
      for (const sub of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
        if (stableJson(x[sub]) !== stableJson(y[sub])) {
          changes.push(`${key}.${sub}: ${show(x[sub])} -> ${show(y[sub])}`);
        }
      }
    } else {
      changes.push(`${key}: ${show(x)} -> ${show(y)}`);
    }
  }
  return changes;
}

function modelPart(config: ExperimentConfig): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const key of NOT_FINGERPRINTED) delete plain[key];
  // Configs without textures keep the fingerprints they had before the key was added.
  if (plain.textures === null) delete plain.textures;
  return plain;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function show(value: unknown): string {
  return value === undefined ? "(unset)" : JSON.stringify(value);
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
