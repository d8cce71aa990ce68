/**
 * Checks of a whole experiment config that need the plug-in registries: the method and its
 * options, the backbone spec, the CCL options, the backend, the label source, and unknown keys.
 * They run before any dataset is read or backbone loaded, so a typo costs nothing.
 * @module
 */
import { BACKEND_PREFERENCE } from "../backend/select_backend.ts";
import { parseBackboneSpec } from "../backbones/registry.ts";
import { resolveCCLConfig } from "../ccl/config.ts";
import { methodProblems, SYNTHESIZING_METHODS } from "../methods/registry.ts";
import { listTextureFiles } from "../methods/synthetic/texture_folder.ts";
import { methodOptionsOf } from "./model.ts";
import type { DataConfig, ExperimentConfig } from "./config.ts";

/** Every key of the `data` section; the type makes a new `DataConfig` field a compile error here. */
const DATA_KEYS: Record<keyof Required<DataConfig>, true> = {
  root: true,
  classes: true,
  cacheDir: true,
  syntheticSeed: true,
};

/** The keys a config (file or object) may have at the top level and in `data`. */
export function knownConfigKeys(defaults: ExperimentConfig): { top: string[]; data: string[] } {
  return { top: Object.keys(defaults), data: Object.keys(DATA_KEYS) };
}

/**
 * Problems with the shape of a partial config: not an object, unknown keys at the top level or
 * in `data` (a misspelled key would otherwise be ignored and its default used silently).
 */
export function configShapeProblems(value: unknown, defaults: ExperimentConfig): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [`a config must be a JSON object, got ${describe(value)}`];
  }
  const known = knownConfigKeys(defaults);
  const problems = Object.keys(value)
    .filter((key) => !known.top.includes(key))
    .map((key) => `unknown key "${key}" (known: ${known.top.join(", ")})`);
  const data = (value as { data?: unknown }).data;
  if (data !== undefined) {
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      problems.push(`"data" must be an object, got ${describe(data)}`);
    } else {
      for (const key of Object.keys(data)) {
        if (!known.data.includes(key)) {
          problems.push(`unknown key "data.${key}" (known: ${known.data.join(", ")})`);
        }
      }
    }
  }
  return problems;
}

/**
 * Problems a resolved config has with the plug-ins it names: unknown method or method option,
 * unknown backbone, invalid CCL options, unknown backend, pseudo-labels without CCL. Pure: files
 * are checked by {@linkcode assertConfigFilesExist} (a config may be made on one machine and
 * run on another).
 */
export function pluginProblems(config: ExperimentConfig): string[] {
  const problems: string[] = [];
  const attempt = (check: () => void) => {
    try {
      check();
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  };
  let architecture: string | undefined;
  attempt(() => {
    architecture = parseBackboneSpec(String(config.backbone)).architecture;
  });
  problems.push(
    ...methodProblems(config.method, {
      imageSize: config.imageSize,
      architecture: architecture ?? "small_resnet",
      options: methodOptionsOf(config),
    }),
  );
  if (config.ccl !== null) attempt(() => resolveCCLConfig(config.ccl ?? {}, "ccl"));
  const backends: readonly string[] = ["auto", ...BACKEND_PREFERENCE];
  if (!backends.includes(config.backend)) {
    problems.push(`unknown backend "${config.backend}" (known: ${backends.join(", ")})`);
  }
  problems.push(...texturesProblems(config));
  if (config.labels !== "class" && config.ccl === null) {
    problems.push(
      'pseudo-labels are CCL\'s supervision, but CCL is off: add --ccl (or "ccl": {}) ' +
        "or drop --pseudo-labels",
    );
  }
  return problems;
}

/**
 * Problems with `textures`: not a folder path, or given to a method that does not synthesise
 * anomalies. An error rather than a note: the key is recorded and fingerprinted, so accepting it
 * where it changes nothing would make the run's record claim textures it never used.
 */
function texturesProblems(config: ExperimentConfig): string[] {
  const textures = config.textures as unknown;
  if (textures === null || textures === undefined) return [];
  if (typeof textures !== "string" || textures === "") {
    return [`textures must be a folder path or null, got ${describe(textures)}`];
  }
  if (!SYNTHESIZING_METHODS.includes(config.method)) {
    return [
      `textures: method "${config.method}" does not synthesise anomalies, so a texture folder ` +
      `would change nothing (it applies to ${SYNTHESIZING_METHODS.join(", ")}); drop ` +
      `--textures / "textures"`,
    ];
  }
  return [];
}

/**
 * Throws naming every file the config points to that does not exist here: backbone weights,
 * the pseudo-label file, and a texture folder that is missing or holds no image (a corrupt
 * image is found when the run decodes the folder, before training). Run before any dataset is
 * read or backbone loaded.
 */
export function assertConfigFilesExist(config: ExperimentConfig): void {
  const missing: string[] = [];
  const spec = parseBackboneSpec(config.backbone);
  if (spec.weights.kind === "file" && !fileExists(spec.weights.path)) {
    missing.push(`backbone weight file does not exist: ${spec.weights.path}`);
  }
  if (config.labels !== "class" && !fileExists(config.labels.pseudoLabels)) {
    missing.push(`pseudo-label file does not exist: ${config.labels.pseudoLabels}`);
  }
  if (typeof config.textures === "string" && config.textures !== "") {
    try {
      listTextureFiles(config.textures);
    } catch (e) {
      missing.push((e as Error).message);
    }
  }
  if (missing.length) throw new Error(`invalid experiment config:\n  ${missing.join("\n  ")}`);
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}
