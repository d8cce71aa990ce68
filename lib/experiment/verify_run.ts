/**
 * Before a run is evaluated again: is the dataset on disk the one the run trained and was
 * tested on? Same classes and same test set, or an error saying what changed.
 * @module
 */
import { join } from "@std/path";
import type { Dataset } from "../data/types.ts";
import { datasetChanges, readRunDataset, runDatasetRecord } from "./run_folder.ts";

/**
 * Compares `dataset` with the run's `dataset.json`: changed classes or test set are an error;
 * a changed train set is reported as a note (evaluation does not use it). Runs made before
 * `dataset.json` was recorded are checked against the class list in their `metrics.json`.
 */
export async function verifyEvaluationDataset(
  runDir: string,
  dataset: Dataset,
  say: (line: string) => void,
): Promise<void> {
  const recorded = await readRunDataset(runDir);
  if (recorded === undefined) {
    await verifyAgainstMetrics(runDir, dataset, say);
    return;
  }
  const current = await runDatasetRecord(dataset);
  const changes = datasetChanges(recorded, current, ["test"]);
  if (changes.length > 0) {
    throw new Error(
      `${runDir}: the dataset at ${dataset.root} is not the one this run was trained and ` +
        `tested on (${join(runDir, "dataset.json")}): ${changes.join("; ")}`,
    );
  }
  const trainChanges = datasetChanges(recorded, current, ["train"]);
  if (trainChanges.length > 0) {
    say(`note: the train set differs from the one the run trained on: ${trainChanges.join("; ")}`);
  }
}

async function verifyAgainstMetrics(
  runDir: string,
  dataset: Dataset,
  say: (line: string) => void,
): Promise<void> {
  const path = join(runDir, "metrics.json");
  let classes: string[] | undefined;
  try {
    classes = JSON.parse(await Deno.readTextFile(path)).dataset?.classes;
  } catch {
    classes = undefined;
  }
  if (!Array.isArray(classes)) {
    say(`note: ${runDir} records no dataset (no dataset.json or metrics.json): not verified`);
    return;
  }
  const lost = classes.filter((c) => !dataset.classes.includes(c));
  const gained = dataset.classes.filter((c) => !classes.includes(c));
  if (lost.length || gained.length) {
    throw new Error(
      `${runDir}: the dataset's classes are not those of ${path}: ` +
        [lost.length ? `removed ${lost.join(", ")}` : "", gained.length ? `added ${gained}` : ""]
          .filter(Boolean).join("; "),
    );
  }
  say(`note: ${runDir} predates dataset.json: classes checked, test set not verified`);
}
