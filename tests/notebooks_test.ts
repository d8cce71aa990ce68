/**
 * The notebooks as committed: each parses, runs on the Deno kernel, imports nothing but the
 * public API (`../mod.ts`), defines the `seed` its run record prints, and carries the outputs of
 * a real run without error cells (CI also executes each one: `deno task notebooks`).
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "@std/path";
import {
  cellSource,
  errorOutputs,
  type Notebook,
  RECORD_MARKER,
  withRecordCell,
} from "../scripts/notebooks.ts";

const DIR = new URL("../notebooks/", import.meta.url).pathname;

async function notebookFiles(): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(DIR)) {
    if (entry.isFile && entry.name.endsWith(".ipynb") && !entry.name.startsWith(".")) {
      files.push(entry.name);
    }
  }
  return files.sort();
}

async function readNotebook(name: string): Promise<Notebook> {
  const text = await Deno.readTextFile(join(DIR, name));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`);
  }
}

/** Module specifiers of static and dynamic imports and re-exports in TypeScript source. */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?["']([^"']+)["']/g,
    /\bexport\s+[\w*{}\s,$]+\s+from\s+["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

Deno.test("importSpecifiers finds static, type, dynamic imports and re-exports", () => {
  const source = `import * as ccl from "../mod.ts";\nimport type { X } from 'npm:x';\n` +
    `import "./side.ts";\nconst m = await import("jsr:@std/path");\nexport { a } from "./a.ts";`;
  assertEquals(importSpecifiers(source).sort(), [
    "../mod.ts",
    "./a.ts",
    "./side.ts",
    "jsr:@std/path",
    "npm:x",
  ]);
});

Deno.test("there are notebooks, numbered", async () => {
  const files = await notebookFiles();
  assert(files.includes("01_quickstart.ipynb"), files.join(", "));
  for (const name of files) assert(/^\d\d_[a-z0-9_]+\.ipynb$/.test(name), name);
});

Deno.test("every notebook parses, uses the Deno kernel and imports only ../mod.ts", async () => {
  for (const name of await notebookFiles()) {
    const notebook = await readNotebook(name);
    assertEquals(notebook.nbformat, 4, name);
    const kernel = (notebook.metadata.kernelspec as { name?: string } | undefined)?.name;
    assertEquals(kernel, "deno", `${name}: kernel`);
    const code = notebook.cells.filter((c) => c.cell_type === "code").map(cellSource);
    assert(code.length > 0, `${name}: no code cells`);
    const imports = code.flatMap(importSpecifiers);
    assertEquals([...new Set(imports)], ["../mod.ts"], `${name}: imports ${imports.join(", ")}`);
    assert(
      code.some((source) => /\bconst seed\s*=/.test(source)),
      `${name}: defines no \`const seed\` (the run record prints it)`,
    );
  }
});

Deno.test("committed notebooks carry the outputs of a clean run, the run record last", async () => {
  for (const name of await notebookFiles()) {
    const notebook = await readNotebook(name);
    assertEquals(errorOutputs(notebook), [], `${name}: error cells`);
    const code = notebook.cells.filter((c) => c.cell_type === "code");
    for (const [i, cell] of code.entries()) {
      assert(
        typeof cell.execution_count === "number",
        `${name}: code cell ${i} was not executed (run \`deno task notebooks --commit\`)`,
      );
    }
    assert(code.some((c) => (c.outputs ?? []).length > 0), `${name}: no outputs`);
    const last = notebook.cells.at(-1)!;
    assert(
      cellSource(last).startsWith(RECORD_MARKER),
      `${name}: the last cell is not the run record`,
    );
    const printed = JSON.stringify(last.outputs ?? []);
    assert(
      /backend \w+, seed \d+, finished \d{4}-/.test(printed),
      `${name}: run record ${printed}`,
    );
    assert(typeof (notebook.metadata.ccl_ad as { seconds?: number })?.seconds === "number", name);
  }
});

Deno.test("the run record is added once and kept last", () => {
  const notebook: Notebook = {
    cells: [{ cell_type: "code", source: "const seed = 0;" }],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
  const once = withRecordCell(notebook);
  const twice = withRecordCell({
    ...once,
    cells: [...once.cells, { cell_type: "markdown", source: "x" }],
  });
  assertEquals(twice.cells.length, 3);
  assert(cellSource(twice.cells[2]).startsWith(RECORD_MARKER));
  assertEquals(twice.cells.filter((c) => cellSource(c).startsWith(RECORD_MARKER)).length, 1);
});
