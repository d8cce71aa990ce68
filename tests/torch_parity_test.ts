/**
 * The PyTorch copy behind the benchmark's speed ratios (`bench/torch_rd.py`) computes what our
 * model computes (`bench/torch_parity.ts`). Runs only where /usr/bin/python3 has torch and numpy
 * (CI does not install torch); a small batch keeps it to seconds.
 */
import { assert } from "@std/assert";
import { selectBackend } from "../lib/backend/select_backend.ts";
import { type ParityRow, parityTable, runParity, torchAvailable } from "../bench/torch_parity.ts";

const hasTorch = await torchAvailable();

function failing(rows: ParityRow[], pick: (row: ParityRow) => boolean): ParityRow[] {
  return rows.filter((row) => pick(row) && !row.ok);
}

Deno.test({
  name: "torch copy: RD and RD + CCL outputs, losses and RD's step match ours",
  ignore: !hasTorch,
  sanitizeResources: false,
  fn: async () => {
    await selectBackend({ log: false });
    const report = await runParity({ batch: 4, tolerance: 3e-5, dir: ".cache/torch_parity_test" });
    const table = parityTable(report);
    // Everything computed forward, in both cases: features, reconstructions, maps, scores,
    // losses, pixel matches, batch-norm statistics.
    const forward = failing(
      report.rows,
      (r) =>
        /^(before|after): (encoder|decoder|pooled|anomaly|image)/.test(r.quantity) &&
          (r.case === "rd" || r.quantity.startsWith("before")) ||
        r.quantity.startsWith("step: loss/") || r.quantity.startsWith("CCL ") ||
        r.quantity === "step: BN running stats after",
    );
    assert(forward.length === 0, `forward quantities differ:\n${table}`);
    // RD's whole step: every gradient, and clip + Adam on the same gradients.
    const rdStep = failing(
      report.rows,
      (r) =>
        r.case === "rd" && r.quantity.startsWith("step: ") &&
        !r.quantity.startsWith("step: gradient norm"),
    );
    assert(rdStep.length === 0, `RD's step differs:\n${table}`);
    // The optimiser on the same gradients, in every case.
    const adam = failing(report.rows, (r) => r.quantity.includes("on our gradients"));
    assert(adam.length === 0, `clip + Adam differ:\n${table}`);
  },
});
