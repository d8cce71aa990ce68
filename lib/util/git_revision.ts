/**
 * The git revision of the code that produced a result, so committed numbers can be traced.
 * @module
 */

/**
 * The commit and whether files outside `results/` had uncommitted changes, counting untracked
 * files that git does not ignore (a new source file not yet committed makes the code dirty; a
 * run rewriting its own results does not); undefined outside git.
 */
export interface GitRevision {
  commit: string;
  dirty: boolean;
}

/** Reads `git rev-parse HEAD` and `git status --porcelain` in `dir`; undefined if unavailable. */
export async function gitRevision(dir = "."): Promise<GitRevision | undefined> {
  try {
    const run = async (...args: string[]) => {
      const output = await new Deno.Command("git", { args, cwd: dir, stderr: "null" }).output();
      if (!output.success) throw new Error(`git ${args.join(" ")} failed`);
      return new TextDecoder().decode(output.stdout).trim();
    };
    const commit = await run("rev-parse", "HEAD");
    const status = await run(
      "status",
      "--porcelain",
      "--untracked-files=normal",
      "--",
      ".",
      ":(exclude)results",
    );
    return { commit, dirty: status.length > 0 };
  } catch {
    return undefined; // no git, no repository, or no --allow-run: the result just lacks it
  }
}
