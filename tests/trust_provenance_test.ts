/** Provenance: the git "dirty" flag counts new files; dataset fingerprints track content. */
import { assertEquals, assertNotEquals } from "@std/assert";
import { join } from "@std/path";
import { datasetFingerprint } from "../lib/data/fingerprint.ts";
import type { Dataset, SampleRecord } from "../lib/data/types.ts";
import { gitRevision } from "../lib/util/git_revision.ts";
import { withTempDir } from "./_trust_fixtures.ts";

async function git(dir: string, ...args: string[]): Promise<void> {
  const output = await new Deno.Command("git", {
    args: ["-c", "user.name=test", "-c", "user.email=test@example.com", ...args],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
}

Deno.test("git revision: an untracked source file makes the tree dirty; results/ and ignored files do not", async () => {
  await withTempDir(async (dir) => {
    await git(dir, "init", "-q");
    await Deno.writeTextFile(join(dir, "a.ts"), "export const a = 1;\n");
    await Deno.writeTextFile(join(dir, ".gitignore"), ".cache/\n");
    await git(dir, "add", ".");
    await git(dir, "commit", "-q", "-m", "one");
    assertEquals((await gitRevision(dir))?.dirty, false);
    await Deno.mkdir(join(dir, "results/run"), { recursive: true });
    await Deno.writeTextFile(join(dir, "results/run/metrics.json"), "{}");
    await Deno.mkdir(join(dir, ".cache"));
    await Deno.writeTextFile(join(dir, ".cache/x"), "cache");
    assertEquals((await gitRevision(dir))?.dirty, false);
    await Deno.writeTextFile(join(dir, "new_method.ts"), "export const b = 2;\n");
    assertEquals((await gitRevision(dir))?.dirty, true);
  });
});

function dataset(root: string, names: string[]): Dataset {
  const records: SampleRecord[] = names.map((name, i) => ({
    imagePath: join(root, name),
    className: name.split("/")[0],
    split: i % 2 === 0 ? "train" : "test",
    defect: "good",
    label: 0,
  }));
  const classes = [...new Set(records.map((r) => r.className))].sort();
  return { name: "d", root, layout: "folder", records, classes };
}

Deno.test("dataset fingerprint: same for a moved copy, different when a file is renamed", async () => {
  const names = ["a/0.png", "a/1.png", "b/0.png", "b/1.png"];
  const here = await datasetFingerprint(dataset("/data/one", names));
  const moved = await datasetFingerprint(dataset("/elsewhere/two", names));
  assertEquals(moved, here);
  assertEquals([here.classes, here.files], [["a", "b"], 4]);
  const renamed = await datasetFingerprint(dataset("/data/one", [...names.slice(0, 3), "b/9.png"]));
  assertNotEquals(renamed.hash, here.hash);
  assertEquals(renamed.train.hash, here.train.hash);
  assertNotEquals(renamed.test.hash, here.test.hash);
});
