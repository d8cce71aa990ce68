import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { join } from "@std/path";
import {
  arrayJobScript,
  collectJobScript,
  expandGrid,
  type GridSpec,
  parseQueue,
  readRunStates,
  slurmExecutor,
  submitGrid,
  submitSlurm,
} from "../lib/grid/mod.ts";

const spec: GridSpec = {
  name: "paper",
  axes: { strategy: ["joint", "joint+ccl"], seed: [0, 1] },
  resultsDir: "results/grid/paper",
  slurm: {
    partition: "gpu",
    account: "vision",
    time: "08:00:00",
    gpus: 1,
    gpuType: "a100",
    cpusPerTask: 8,
    mem: "32G",
    maxParallel: 4,
    extra: ["--constraint=ib"],
    setup: ["module load cuda/11.2"],
  },
};
const context = { repoDir: "/shared/ccl-ad", deno: "/opt/deno/bin/deno" };

const EXPECTED = `#!/bin/bash
# Grid "paper": 4 runs, one array task each.
# Written by \`deno task grid submit\`; change the grid spec and submit again rather than edit.
#SBATCH --job-name=ccl-grid-paper
#SBATCH --array=0-3%4
#SBATCH --output=/shared/ccl-ad/results/grid/paper/_grid/logs/slurm-%A_%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --partition=gpu
#SBATCH --account=vision
#SBATCH --time=08:00:00
#SBATCH --gres=gpu:a100:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --constraint=ib
set -uo pipefail
export NO_COLOR=1
cd '/shared/ccl-ad' || exit 1
runs=('joint_seed0' 'joint_seed1' 'joint-ccl_seed0' 'joint-ccl_seed1')
run=\${runs[$SLURM_ARRAY_TASK_ID]}
grid='/shared/ccl-ad/results/grid/paper/_grid'
job="\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
log="$grid/logs/slurm-$job.out"
state="$grid/state/$run.json"
restarts=\${SLURM_RESTART_COUNT:-0}
started=$(date -u +%FT%TZ)
# The run's marker: written when the task starts and again with its exit code.
marker() {
  local end=""
  if [[ $# -gt 0 ]]; then end=",\\"finishedAt\\":\\"$(date -u +%FT%TZ)\\",\\"exitCode\\":$1"; fi
  printf '{"executor":"slurm","jobId":"%s","log":"%s","host":"%s","restarts":%s,"startedAt":"%s"%s}\\n' \\
    "$job" "$log" "$(hostname)" "$restarts" "$started" "$end" >"$state.$$.tmp" && mv "$state.$$.tmp" "$state"
}
mkdir -p "$grid/state"
marker
echo "[grid] $run: task $job on $(hostname), restart $restarts, $started"
module load cuda/11.2
'/opt/deno/bin/deno' task train --config "$grid/configs/$run.json" --resume --results '/shared/ccl-ad/results/grid/paper'
code=$?
marker "$code"
echo "[grid] $run: exit code $code"
exit "$code"
`;

async function bash(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("bash", { args, env, stdin: "null" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("sbatch: the job-array script for a spec, line by line", async () => {
  const plan = expandGrid(spec);
  const script = arrayJobScript(plan, plan.runs, context);
  assertEquals(script, EXPECTED);
  const dir = await Deno.makeTempDir({ prefix: "ccl-grid-" });
  await Deno.writeTextFile(join(dir, "train.sbatch"), script);
  const syntax = await bash(["-n", join(dir, "train.sbatch")]);
  assertEquals(syntax.code, 0, syntax.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sbatch: the collect script runs grid collect on the spec; minimal specs add no resources", () => {
  const plan = expandGrid(spec);
  const collect = collectJobScript(plan, "grids/paper.json", context);
  assertStringIncludes(collect, "#SBATCH --job-name=ccl-grid-paper-collect\n");
  assertStringIncludes(collect, "#SBATCH --time=00:30:00\n#SBATCH --cpus-per-task=1\n");
  assertStringIncludes(
    collect,
    "'/opt/deno/bin/deno' task grid collect '/shared/ccl-ad/grids/paper.json' " +
      "--results '/shared/ccl-ad/results/grid/paper'\n",
  );
  const bare = expandGrid({ name: "bare", axes: { seed: [0] } });
  const script = arrayJobScript(bare, bare.runs, context);
  assertEquals(script.split("\n").filter((l) => l.startsWith("#SBATCH")), [
    "#SBATCH --job-name=ccl-grid-bare",
    "#SBATCH --array=0-0",
    "#SBATCH --output=/shared/ccl-ad/results/grid/bare/_grid/logs/slurm-%A_%a.out",
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
  ]);
});

Deno.test("sbatch: a task trains its run with --resume and records its exit code", async () => {
  const repo = await Deno.makeTempDir({ prefix: "ccl-sbatch-" });
  const plan = expandGrid({ ...spec, resultsDir: "out", slurm: {} });
  // A stand-in for deno that prints its arguments and fails like a broken run.
  const fake = join(repo, "fake-deno");
  await Deno.writeTextFile(
    fake,
    '#!/bin/bash\necho "args: $*"\necho "error: no data" >&2\nexit 3\n',
  );
  await Deno.chmod(fake, 0o755);
  const script = join(repo, "train.sbatch");
  await Deno.writeTextFile(script, arrayJobScript(plan, plan.runs, { repoDir: repo, deno: fake }));
  const out = await bash([script], {
    SLURM_ARRAY_JOB_ID: "42",
    SLURM_ARRAY_TASK_ID: "2",
    SLURM_RESTART_COUNT: "1",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  });
  assertEquals(out.code, 3);
  assertStringIncludes(
    out.stdout,
    `args: task train --config ${repo}/out/_grid/configs/joint-ccl_seed0.json --resume ` +
      `--results ${repo}/out\n`,
  );
  assertStringIncludes(out.stdout, "[grid] joint-ccl_seed0: task 42_2 on ");
  assertStringIncludes(out.stdout, ", restart 1, ");
  const marker = JSON.parse(
    await Deno.readTextFile(join(repo, "out", "_grid", "state", "joint-ccl_seed0.json")),
  );
  assertEquals(
    [marker.executor, marker.jobId, marker.exitCode, marker.restarts, marker.log],
    ["slurm", "42_2", 3, 1, `${repo}/out/_grid/logs/slurm-42_2.out`],
  );
  assert(marker.finishedAt >= marker.startedAt);
  // The marker (with that log) makes the run "failed"; a missing log gives an empty tail.
  const [, , failed] = await readRunStates({
    ...plan,
    resultsDir: join(repo, "out"),
    gridDir: join(repo, "out", "_grid"),
  });
  assertEquals([failed.name, failed.state, failed.reason], [
    "joint-ccl_seed0",
    "failed",
    "exit code 3",
  ]);
  await Deno.remove(repo, { recursive: true });
});

Deno.test("slurm executor: dry run writes both scripts and prints the sbatch commands", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-grid-" });
  const plan = expandGrid({ ...spec, resultsDir: join(dir, "r") });
  const report = await submitSlurm(plan, plan.runs, "grids/paper.json", {
    ...context,
    dryRun: true,
    env: { PATH: "/nonexistent" },
  });
  assertEquals(report.submission, undefined);
  assertEquals(report.commands, [
    `sbatch --parsable ${report.arrayScript}`,
    `sbatch --parsable --dependency=afterany:<array job id> ${report.collectScript}`,
  ]);
  assertStringIncludes(await Deno.readTextFile(report.arrayScript), "#SBATCH --array=0-3%4");
  assertStringIncludes(await Deno.readTextFile(report.collectScript), "task grid collect");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("slurm executor: sbatch missing from PATH is a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ccl-grid-" });
  const plan = expandGrid({ ...spec, resultsDir: join(dir, "r") });
  const executor = slurmExecutor({ ...context, env: { PATH: "/nonexistent" } });
  const error = await assertRejects(() =>
    submitGrid(plan, executor, { specPath: "s.json", log: () => {} })
  );
  assertStringIncludes(error.message, "sbatch not found on PATH (/nonexistent)");
  assertStringIncludes(error.message, "apt-get install slurm-client");
  assertStringIncludes(error.message, "--executor local");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("slurm executor: squeue lines map to the latest submission's runs", () => {
  const jobs = {
    submissions: [
      { arrayJobId: "7", runs: ["a", "b"], script: "", submittedAt: "" },
      { arrayJobId: "9", runs: ["b"], script: "", submittedAt: "" },
    ],
  };
  const queue = parseQueue(
    "7_0|RUNNING|1:02|None\n7_1|RUNNING|0:30|None\n9_0|PENDING|0:00|BeginTime\n12_0|RUNNING|0:01|None\n",
    jobs,
  );
  assertEquals([...queue.keys()], ["a", "b"]);
  assertEquals(queue.get("a"), { jobId: "7_0", state: "RUNNING", detail: "1:02" });
  assertEquals(queue.get("b"), { jobId: "9_0", state: "PENDING", detail: "(BeginTime)" });
});
