/**
 * The run folder's guard rails: a run never writes into another run's folder unless asked to
 * resume it (and then only with the same config and data), leftovers of a killed run are
 * cleaned, and the config and dataset a run used are recorded so `eval` can check them.
 * @module
 */
import { join } from "@std/path";
import { type DatasetFingerprint, datasetFingerprint, splitLines } from "../data/fingerprint.ts";
import type { Dataset } from "../data/types.ts";
import { writeJsonAtomic } from "../util/atomic_write.ts";
import { recordedPath } from "../util/repo_path.ts";
import { type ExperimentConfig, resolveConfig } from "./config.ts";
import { readConfigFile } from "./config_file.ts";
import { configChanges, configFingerprint } from "./fingerprint.ts";

/** What `dataset.json` in a run folder holds: the dataset a run trained and was tested on. */
export interface RunDatasetRecord {
  name: string;
  /** Relative to the repository when inside it. */
  root: string;
  layout: string;
  fingerprint: DatasetFingerprint;
  /** One line per record (class, defect, label, image, mask; paths relative to the root). */
  train: string[];
  test: string[];
}

/** The temporary files `lib/util/atomic_write.ts` creates: `<target>.<pid>.<8 hex>.tmp`. */
const ATOMIC_TEMP = /\.\d+\.[0-9a-f]{8}\.tmp$/;

/** The checkpoints in a run folder: a run `--resume` can continue. */
async function checkpointFiles(runDir: string): Promise<string[]> {
  return (await listNames(join(runDir, "checkpoints")))
    .filter((name) => name.endsWith(".safetensors"))
    .map((name) => `checkpoints/${name}`);
}

/**
 * Checks that a run may use `runDir`, before anything is written. Without `resume` the folder
 * must not hold a run that can be continued: checkpoints, or a `config.json` of a run that
 * stopped before its first checkpoint (no `metrics.json`). A finished run that kept no
 * checkpoints (e.g. committed results) is replaced, with a note. With `resume`, the folder's
 * `config.json` (if any) must train the same model. Then removes temporary files left by a
 * process killed while writing in this folder.
 */
export async function openRunFolder(
  runDir: string,
  config: ExperimentConfig,
  resume: boolean,
  note: (line: string) => void = console.error,
): Promise<{ removedTemps: string[] }> {
  const savedPath = join(runDir, "config.json");
  const hasConfig = await exists(savedPath);
  const finished = await exists(join(runDir, "metrics.json"));
  const checkpoints = await checkpointFiles(runDir);
  const unfinished = hasConfig && !finished ? ["config.json (no metrics.json)"] : [];
  const marks = [...checkpoints, ...unfinished];
  if (marks.length > 0 && !resume) {
    throw new Error(
      `${runDir} already holds a run (${marks.slice(0, 3).join(", ")}): pass --resume to ` +
        "continue that run, choose another --name, or remove the run's folder to start afresh " +
        "(nothing was written)",
    );
  }
  if (!resume && finished) {
    note(`note: ${runDir} holds a finished run without checkpoints; its results are replaced`);
  }
  if (resume && hasConfig) {
    const saved = resolveConfig(await readConfigFile(savedPath));
    if (await configFingerprint(saved) !== await configFingerprint(config)) {
      throw new Error(
        `cannot resume ${runDir}: this config differs from the run's ${savedPath} in ` +
          `${configChanges(saved, config).join("; ")}`,
      );
    }
  }
  return { removedTemps: await removeStaleTemps(runDir) };
}

/** Removes `*.<pid>.<hex>.tmp` files in the run folder and its `checkpoints/`. */
export async function removeStaleTemps(runDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of [runDir, join(runDir, "checkpoints")]) {
    for (const name of await listNames(dir)) {
      if (!ATOMIC_TEMP.test(name)) continue;
      await Deno.remove(join(dir, name)).catch(() => {});
      removed.push(join(dir, name));
    }
  }
  return removed;
}

/** The record of `dataset` written to `dataset.json`. */
export async function runDatasetRecord(dataset: Dataset): Promise<RunDatasetRecord> {
  return {
    name: dataset.name,
    root: recordedPath(dataset.root),
    layout: dataset.layout,
    fingerprint: await datasetFingerprint(dataset),
    train: splitLines(dataset, "train"),
    test: splitLines(dataset, "test"),
  };
}

/**
 * Writes `config.json` and `dataset.json` of a run that is starting or resuming. A resumed run
 * whose recorded dataset differs from `dataset` is refused, saying what changed.
 */
export async function recordRunInputs(
  runDir: string,
  config: ExperimentConfig,
  dataset: Dataset,
): Promise<RunDatasetRecord> {
  const record = await runDatasetRecord(dataset);
  const recorded = await readRunDataset(runDir);
  if (recorded !== undefined) {
    const changes = datasetChanges(recorded, record, ["train", "test"]);
    if (changes.length > 0) {
      throw new Error(
        `cannot resume ${runDir}: the dataset is not the one the run started on: ` +
          changes.join("; "),
      );
    }
  }
  await writeJsonAtomic(join(runDir, "config.json"), config);
  await writeJsonAtomic(join(runDir, "dataset.json"), record);
  return record;
}

/** `dataset.json` of a run, or undefined for runs made before it was recorded. */
export async function readRunDataset(runDir: string): Promise<RunDatasetRecord | undefined> {
  const path = join(runDir, "dataset.json");
  if (!(await exists(path))) return undefined;
  return JSON.parse(await Deno.readTextFile(path));
}

/**
 * What differs between the recorded dataset and the current one, in the given splits: classes
 * added or removed, images added or removed (the first few named), labels or masks changed.
 */
export function datasetChanges(
  recorded: RunDatasetRecord,
  current: RunDatasetRecord,
  splits: ReadonlyArray<"train" | "test">,
): string[] {
  const changes: string[] = [];
  const before = recorded.fingerprint.classes;
  const after = current.fingerprint.classes;
  const lost = before.filter((c) => !after.includes(c));
  const gained = after.filter((c) => !before.includes(c));
  if (lost.length) changes.push(`classes removed: ${lost.join(", ")}`);
  if (gained.length) changes.push(`classes added: ${gained.join(", ")}`);
  for (const split of splits) {
    if (recorded.fingerprint[split].hash === current.fingerprint[split].hash) continue;
    const image = (line: string) => line.split("\t")[3];
    const beforeImages = new Set(recorded[split].map(image));
    const afterImages = new Set(current[split].map(image));
    const removed = [...beforeImages].filter((p) => !afterImages.has(p));
    const added = [...afterImages].filter((p) => !beforeImages.has(p));
    const parts: string[] = [];
    if (removed.length) parts.push(`${removed.length} image(s) gone (${few(removed)})`);
    if (added.length) parts.push(`${added.length} image(s) new (${few(added)})`);
    if (!parts.length) parts.push("same images, but labels, defect types or masks changed");
    changes.push(
      `${split} set: ${parts.join(", ")} (${recorded.fingerprint[split].images} -> ` +
        `${current.fingerprint[split].images} images)`,
    );
  }
  return changes;
}

function few(paths: string[]): string {
  return paths.slice(0, 3).join(", ") + (paths.length > 3 ? ", ..." : "");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function listNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return names;
}
