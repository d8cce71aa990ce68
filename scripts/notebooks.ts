/**
 * `deno task notebooks [--commit] [NAME.ipynb ...]`: executes the notebooks headlessly with
 * Jupyter (Deno kernel), one after another, failing on the first cell that fails.
 *
 * - default: executed copies go to `.cache/notebooks/` (what CI runs);
 * - `--commit`: each notebook is executed and, only if every cell ran without error, written
 *   back in place with its outputs, a last cell that prints backend, seed and time, and the
 *   run's time in the notebook metadata (`ccl_ad`), ready to be committed.
 * @module
 */
import { parseArgs } from "@std/cli";
import { basename, join } from "@std/path";
import { writeTextAtomic } from "../lib/util/atomic_write.ts";

const JUPYTER = "/usr/bin/jupyter";
const NOTEBOOK_DIR = "notebooks";
const CACHE_DIR = join(".cache", "notebooks");
/** The first line of the run-record cell; `--commit` keeps exactly one, last. */
export const RECORD_MARKER = "// ccl-ad run record";
/**
 * Per cell. Notebook 04's DMAD cell trains five strategies (about 10 min on 2 loaded cores since
 * DMAD warps its input before the encoder); a stuck kernel still fails the run.
 */
const CELL_TIMEOUT_S = 2400;

/** A notebook as nbformat 4 JSON (the parts this script touches). */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** One cell. */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  outputs?: Array<{ output_type: string; ename?: string; evalue?: string }>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  id?: string;
}

/** The source of a cell as one string. */
export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The run-record cell: prints backend, seed (each notebook defines `seed`) and time. */
export function recordCell(): NotebookCell {
  const source = [
    `${RECORD_MARKER} (rewritten by \`deno task notebooks --commit\`)\n`,
    "{\n",
    "  const backend = await ccl.selectBackend({ log: false });\n",
    "  console.log(\n",
    "    `backend ${backend.name}, seed ${seed}, finished ${new Date().toISOString()}, ` +\n",
    "      `deno ${Deno.version.deno}, tfjs ${backend.tfjsVersion}`,\n",
    "  );\n",
    "}",
  ];
  return {
    cell_type: "code",
    id: "ccl-ad-run-record",
    metadata: {},
    execution_count: null,
    outputs: [],
    source,
  };
}

/** The notebook with exactly one run-record cell, at the end. */
export function withRecordCell(notebook: Notebook): Notebook {
  const cells = notebook.cells.filter((cell) => !cellSource(cell).startsWith(RECORD_MARKER));
  return { ...notebook, cells: [...cells, recordCell()] };
}

/** The error outputs of a notebook's cells: `<cell index>: <ename>: <evalue>`. */
export function errorOutputs(notebook: Notebook): string[] {
  const errors: string[] = [];
  notebook.cells.forEach((cell, index) => {
    for (const output of cell.outputs ?? []) {
      if (output.output_type === "error") {
        errors.push(`cell ${index}: ${output.ename ?? "error"}: ${output.evalue ?? ""}`);
      }
    }
  });
  return errors;
}

async function execute(input: string, outputDir: string): Promise<void> {
  const command = new Deno.Command(JUPYTER, {
    args: [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      `--ExecutePreprocessor.timeout=${CELL_TIMEOUT_S}`,
      "--output-dir",
      outputDir,
      input,
    ],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await command.output();
  if (code !== 0) throw new Error(`${input}: jupyter nbconvert failed (exit ${code})`);
}

async function readNotebook(path: string): Promise<Notebook> {
  return JSON.parse(await Deno.readTextFile(path)) as Notebook;
}

async function listNotebooks(names: string[]): Promise<string[]> {
  if (names.length > 0) {
    return names.map((name) => name.includes("/") ? name : join(NOTEBOOK_DIR, name));
  }
  const found: string[] = [];
  for await (const entry of Deno.readDir(NOTEBOOK_DIR)) {
    if (entry.isFile && entry.name.endsWith(".ipynb") && !entry.name.startsWith(".")) {
      found.push(join(NOTEBOOK_DIR, entry.name));
    }
  }
  return found.sort();
}

async function runOne(path: string, commit: boolean): Promise<number> {
  const started = performance.now();
  if (!commit) {
    await execute(path, CACHE_DIR);
    const errors = errorOutputs(await readNotebook(join(CACHE_DIR, basename(path))));
    if (errors.length > 0) throw new Error(`${path}: ${errors.join("; ")}`);
    return (performance.now() - started) / 1000;
  }
  // Executed from a staging copy beside the original (same folder, so relative paths hold);
  // the original is replaced only after a clean run.
  const staging = join(NOTEBOOK_DIR, `.staging-${basename(path)}`);
  const outDir = join(CACHE_DIR, "commit");
  await writeTextAtomic(staging, JSON.stringify(withRecordCell(await readNotebook(path)), null, 1));
  try {
    await execute(staging, outDir);
  } finally {
    await Deno.remove(staging).catch(() => {});
  }
  const executed = await readNotebook(join(outDir, basename(staging)));
  const errors = errorOutputs(executed);
  if (errors.length > 0) throw new Error(`${path}: ${errors.join("; ")} (not written)`);
  const seconds = (performance.now() - started) / 1000;
  executed.metadata = {
    ...executed.metadata,
    ccl_ad: { executedAt: new Date().toISOString(), seconds: Math.round(seconds) },
  };
  await writeTextAtomic(path, JSON.stringify(executed, null, 1) + "\n");
  return seconds;
}

if (import.meta.main) {
  const flags = parseArgs(Deno.args, { boolean: ["commit", "help"] });
  if (flags.help) {
    console.log(
      "deno task notebooks [--commit] [NAME.ipynb ...]\n\n" +
        "Executes notebooks/*.ipynb headlessly (Deno kernel): copies go to .cache/notebooks/; with\n" +
        "--commit each is rewritten in place with its outputs and a run-record cell, only after\n" +
        "a run without errors.",
    );
    Deno.exit(0);
  }
  try {
    const paths = await listNotebooks(flags._.map(String));
    let total = 0;
    const failed: string[] = [];
    // Every notebook runs even after a failure, so one run reports all that fail.
    for (const [i, path] of paths.entries()) {
      const tag = `[notebooks ${i + 1}/${paths.length}] ${path}`;
      console.error(`${tag} ...`);
      try {
        const seconds = await runOne(path, flags.commit);
        total += seconds;
        console.error(`${tag} ok (${seconds.toFixed(0)} s)`);
      } catch (error) {
        failed.push(path);
        console.error(`${tag} FAILED: ${error instanceof Error ? error.message : error}`);
      }
    }
    if (failed.length > 0) {
      throw new Error(`${failed.length} notebook(s) failed: ${failed.join(", ")}`);
    }
    console.error(`[notebooks] ${paths.length} notebooks ok in ${total.toFixed(0)} s`);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
