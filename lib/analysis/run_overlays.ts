/**
 * Anomaly overlays of a trained run: predicts each class's test images from the checkpoints and
 * writes one PNG grid per class (image | anomaly map | ground truth | prediction above the
 * class's pixel-F1 threshold), a few images per defect type.
 * @module
 */
import { join } from "@std/path";
import type { SampleRecord } from "../data/types.ts";
import { predictRecords } from "../experiment/predict.ts";
import { f1Threshold, overlayGrid, type OverlayItem } from "../plots/overlay.ts";
import { writeFileAtomic } from "../util/atomic_write.ts";
import { openTrainedRun, withUnitModel } from "./trained_run.ts";

/** Options of {@linkcode writeRunOverlays}. */
export interface RunOverlayOptions {
  /** Output folder (default `<runDir>/overlays`). */
  outDir?: string;
  /** Images per defect type (default 2; normal images count as the defect `good`). */
  perDefect?: number;
  /** Only these classes (default all). */
  classes?: readonly string[];
  log?: (line: string) => void;
}

/** The first `perDefect` test images of each defect type of a class, `good` first. */
export function pickOverlayRecords(
  records: readonly SampleRecord[],
  perDefect: number,
): SampleRecord[] {
  const defects = [...new Set(records.map((r) => r.defect))].sort((a, b) =>
    a === "good" ? -1 : b === "good" ? 1 : a < b ? -1 : a > b ? 1 : 0
  );
  return defects.flatMap((d) => records.filter((r) => r.defect === d).slice(0, perDefect));
}

/** Writes `<outDir>/<class>.png` for every class of a trained run; returns the files. */
export async function writeRunOverlays(
  runDir: string,
  options: RunOverlayOptions = {},
): Promise<string[]> {
  const say = options.log ?? ((line: string) => console.error(line));
  const run = await openTrainedRun(runDir, { log: say });
  const outDir = options.outDir ?? join(runDir, "overlays");
  const perDefect = options.perDefect ?? 2;
  const files: string[] = [];
  try {
    for (const { unit, classes } of run.units) {
      const wanted = classes.filter((c) => !options.classes || options.classes.includes(c));
      if (wanted.length === 0) continue;
      await withUnitModel(run, unit, async (model) => {
        for (const className of wanted) {
          const test = run.dataset.records.filter((r) =>
            r.split === "test" && r.className === className
          );
          const predictions = await predictRecords(model.objective, test, {
            size: run.config.imageSize,
            batchSize: run.config.batchSize,
            progress: "silent",
          });
          const threshold = f1Threshold(predictions.maps, predictions.masks);
          const index = new Map(test.map((r, i) => [r, i]));
          const items: OverlayItem[] = pickOverlayRecords(test, perDefect).map((record) => {
            const i = index.get(record)!;
            return {
              imagePath: record.imagePath,
              map: predictions.maps[i],
              mask: predictions.masks[i],
              label: `${record.defect}\nscore ${predictions.scores[i].toFixed(3)}`,
            };
          });
          const png = await overlayGrid(items, {
            mapSize: run.config.imageSize,
            threshold,
            title: run.config.name.endsWith(`seed${run.config.seed}`)
              ? `${className}: ${run.config.name}`
              : `${className}: ${run.config.name}, seed ${run.config.seed}`,
            groups: perDefect,
          });
          const file = join(outDir, `${className}.png`);
          await writeFileAtomic(file, png);
          files.push(file);
        }
      });
    }
  } finally {
    run.backbone.dispose();
  }
  say(`[${run.config.name}] overlays: ${files.length} classes in ${outDir}`);
  return files;
}
