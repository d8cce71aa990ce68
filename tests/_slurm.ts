/**
 * Test helper: a one-node Slurm cluster on localhost (munged, slurmctld, slurmd), started by
 * `scripts/slurm_local.sh` with everything in a temporary folder, and stopped by the PIDs it
 * recorded: only the daemons this helper started are ever signalled.
 * @module
 */
import { fromFileUrl, join } from "@std/path";

const SCRIPT = fromFileUrl(new URL("../scripts/slurm_local.sh", import.meta.url));

/** A running local cluster. */
export interface LocalSlurm {
  dir: string;
  /** Environment for Slurm commands (`SLURM_CONF`). */
  env: Record<string, string>;
  /** PIDs of the daemons started, by program. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

async function onPath(program: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    if (await Deno.stat(join(dir, program)).then(() => true, () => false)) return true;
  }
  return false;
}

/**
 * Why a local cluster cannot start here (not Linux, not root, packages missing), or undefined.
 * With `CCL_REQUIRE_SLURM=1` (CI) tests must not skip, so the reason is returned as undefined and
 * {@linkcode startLocalSlurm} fails loudly instead.
 */
export async function slurmUnavailable(): Promise<string | undefined> {
  if (Deno.env.get("CCL_REQUIRE_SLURM") === "1") return undefined;
  if (Deno.build.os !== "linux") return "a local Slurm cluster needs Linux";
  if (Deno.uid() !== 0) return "a local Slurm cluster needs root (slurmd, munged as user munge)";
  for (const program of ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol"]) {
    if (!(await onPath(program))) {
      return `${program} not installed (apt-get install slurmctld slurmd slurm-client munge)`;
    }
  }
  return undefined;
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", { args: [SCRIPT, ...args], stdin: "null" }).output();
  const text = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(
      `slurm_local.sh ${args.join(" ")} failed (exit ${out.code}):\n${text.decode(out.stderr)}`,
    );
  }
  return text.decode(out.stdout);
}

/** Starts a cluster in a new temporary folder; the node is idle when this returns. */
export async function startLocalSlurm(): Promise<LocalSlurm> {
  const dir = await Deno.makeTempDir({ prefix: "ccl-slurm-" });
  try {
    await run(["start", dir]);
  } catch (error) {
    await run(["stop", dir]).catch(() => {});
    throw error;
  }
  const pids: Record<string, number> = {};
  for (const program of ["munged", "slurmctld", "slurmd"]) {
    pids[program] = Number((await Deno.readTextFile(join(dir, `${program}.pid`))).trim());
  }
  return {
    dir,
    env: { SLURM_CONF: join(dir, "slurm.conf") },
    pids,
    async stop() {
      await run(["stop", dir]);
      const alive = Object.entries(pids).filter(([, pid]) => {
        try {
          return Deno.statSync(`/proc/${pid}`).isDirectory;
        } catch {
          return false;
        }
      });
      if (alive.length) throw new Error(`still running after stop: ${JSON.stringify(alive)}`);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs a Slurm command against `cluster`; its stdout. */
export async function slurm(cluster: LocalSlurm, command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, env: cluster.env, stdin: "null" }).output();
  const text = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(`${command} ${args.join(" ")}: exit ${out.code}: ${text.decode(out.stderr)}`);
  }
  return text.decode(out.stdout);
}
