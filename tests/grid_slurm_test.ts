/**
 * The grid on a real one-node Slurm cluster: a 2-run grid on the embedded synthetic data goes
 * through the slurm executor, one task is requeued mid-run and resumes from its checkpoint, the
 * collect job runs after the array, and its numbers equal the local executor's; a run that fails
 * in the cluster is collected with its log tail.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { join } from "@std/path";
import { ensureSynthDataset } from "../lib/data/synth/mod.ts";
import type { RunResult } from "../lib/experiment/run_experiment.ts";
import type { GridSummary } from "../lib/grid/collect.ts";
import { type LocalSlurm, slurm, slurmUnavailable, startLocalSlurm } from "./_slurm.ts";

const unavailable = await slurmUnavailable();

async function grid(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/grid.ts", ...args],
    env,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

async function waitForJobs(cluster: LocalSlurm, ids: string[], seconds = 600) {
  await until(`jobs ${ids} to leave the queue`, seconds, async () => {
    const queued = await slurm(cluster, "squeue", ["-h", "-r", "-j", ids.join(","), "-o", "%i"]);
    return queued.trim() === "" ? true : undefined;
  });
}

Deno.test({
  name:
    "grid on Slurm: requeued task resumes, collect job runs after the array, same numbers as local",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "ccl-grid-slurm-" });
    const data = join(work, "synth");
    // Small enough for 2 cores: 2 classes at 32 px, 16 training images each.
    await ensureSynthDataset(data, {
      size: 32,
      trainPerClass: 16,
      testGoodPerClass: 2,
      testBadPerClass: 3,
      classes: ["woven", "pill"],
    });
    const spec = join(work, "spec.json");
    await Deno.writeTextFile(
      spec,
      JSON.stringify({
        name: "slurm-test",
        resultsDir: join(work, "slurm"),
        axes: { method: ["rd"], strategy: ["per-class"], dataset: ["tiny"], seed: [0, 1] },
        datasets: { tiny: { root: data }, empty: { root: join(work, "empty") } },
        // Per class with 2 epochs: a checkpoint exists well before the run ends, so a
        // requeue lands mid-run and the resumed task must start from it.
        fixed: { imageSize: 32, epochs: 2, batchSize: 4, backend: "wasm" },
        slurm: { time: "00:20:00", cpusPerTask: 1 },
      }),
    );
    const cluster = await startLocalSlurm();
    try {
      const submitted = await grid(["submit", spec, "--executor", "slurm"], cluster.env);
      assertEquals(submitted.code, 0, submitted.stderr);
      const jobs = JSON.parse(
        await Deno.readTextFile(join(work, "slurm", "_grid", "jobs.json")),
      ).submissions[0];
      assertEquals(jobs.runs, ["rd_per-class_tiny_seed0", "rd_per-class_tiny_seed1"]);

      // Requeue task 1 once its first unit's checkpoint is written (mid-run).
      const run1 = join(work, "slurm", "rd_per-class_tiny_seed1");
      const marker1 = join(work, "slurm", "_grid", "state", "rd_per-class_tiny_seed1.json");
      await until("the first checkpoint of task 1", 300, async () => {
        if (await exists(join(run1, "checkpoints", "pill.safetensors"))) return true;
        const marker = await Deno.readTextFile(marker1).then(JSON.parse, () => ({}));
        if (marker.exitCode !== undefined) {
          throw new Error(`task 1 ended early:\n${await Deno.readTextFile(marker.log)}`);
        }
      });
      assert(!(await exists(join(run1, "metrics.json"))), "the run ended before the requeue");
      const task = `${jobs.arrayJobId}_1`;
      await slurm(cluster, "scontrol", ["requeue", task]);
      // A requeued job waits ~2 minutes before it may start again; let it start now.
      await until("the requeued task to be pending", 60, async () => {
        const state = await slurm(cluster, "squeue", ["-h", "-r", "-j", task, "-o", "%T"]);
        return state.trim() === "PENDING" ? true : undefined;
      });
      const status = await grid(["status", spec], cluster.env);
      assertMatch(status.stdout, /rd_per-class_tiny_seed1\s+pending/);
      await slurm(cluster, "scontrol", ["update", `JobId=${task}`, "StartTime=now"]);
      await waitForJobs(cluster, [jobs.arrayJobId, jobs.collectJobId]);

      const resumed: RunResult = JSON.parse(await Deno.readTextFile(join(run1, "metrics.json")));
      // Pill's checkpoint existed at the requeue, so the rerun starts from it; under load woven
      // may have written its first checkpoint too before the kill landed.
      assertEquals(resumed.units.map((u) => u.unit), ["pill", "woven"]);
      const [pill, woven] = resumed.units.map((u) => u.resumedFromEpoch);
      assert(pill >= 1, `pill resumed from epoch ${pill}, expected >= 1`);
      assert(woven >= 0 && woven <= 2, `woven resumed from epoch ${woven}`);
      const taskLog = await Deno.readTextFile(
        join(work, "slurm", "_grid", "logs", `slurm-${jobs.arrayJobId}_1.out`),
      );
      assertMatch(taskLog, /DUE TO JOB REQUEUE/);
      assertMatch(taskLog, /restart 1/);

      // The collect job ran after the array and wrote the table.
      const fromCluster: GridSummary = JSON.parse(
        await Deno.readTextFile(join(work, "slurm", "summary.json")),
      );
      assertEquals(fromCluster.counts.done, 2);

      // The same grid through the local executor gives the same numbers.
      const local = await grid([
        "submit",
        spec,
        "--executor",
        "local",
        "--results",
        join(work, "local"),
      ]);
      assertEquals(local.code, 0, local.stderr);
      const collected = await grid(["collect", spec, "--results", join(work, "local")]);
      assertEquals(collected.code, 0, collected.stderr);
      const fromLocal: GridSummary = JSON.parse(
        await Deno.readTextFile(join(work, "local", "summary.json")),
      );
      assertEquals(
        fromLocal.groups.map((g) => g.metrics),
        fromCluster.groups.map((g) => g.metrics),
      );
      assertEquals(fromLocal.runs.map((r) => r.mean), fromCluster.runs.map((r) => r.mean));
      assert(await exists(join(work, "slurm", "plots", "summary.png")));

      // A run that fails in the cluster is collected as failed, with its log's tail.
      await Deno.mkdir(join(work, "empty"));
      const broken = join(work, "broken.json");
      const brokenSpec = JSON.parse(await Deno.readTextFile(spec));
      await Deno.writeTextFile(
        broken,
        JSON.stringify({
          ...brokenSpec,
          name: "slurm-broken",
          resultsDir: join(work, "broken"),
          axes: { dataset: ["empty"], seed: [0] },
        }),
      );
      const submittedBroken = await grid(["submit", broken, "--executor", "slurm"], cluster.env);
      assertEquals(submittedBroken.code, 0, submittedBroken.stderr);
      const brokenJobs = JSON.parse(
        await Deno.readTextFile(join(work, "broken", "_grid", "jobs.json")),
      ).submissions[0];
      await waitForJobs(cluster, [brokenJobs.arrayJobId, brokenJobs.collectJobId]);
      const failed: GridSummary = JSON.parse(
        await Deno.readTextFile(join(work, "broken", "summary.json")),
      );
      assertEquals(failed.runs[0].state, "failed");
      assertMatch(failed.runs[0].reason!, /exit code 1: error: .*empty/);
      assert(failed.runs[0].logTail!.some((line) => line.startsWith("error: ")));
      const markdown = await Deno.readTextFile(join(work, "broken", "summary.md"));
      assertMatch(markdown, /### empty_seed0 \(failed\)/);
    } finally {
      await cluster.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
