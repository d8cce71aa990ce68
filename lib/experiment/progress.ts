/**
 * Progress reporting for long work: a bar redrawn in place on a terminal, a live-updating
 * display in a Jupyter (Deno kernel) cell, and in logs and CI (not a terminal) one line when
 * each piece of work (e.g. an epoch) finishes, so a log does not fill with redraws.
 * @module
 */

/** Values shown next to the bar, e.g. `{ loss: 0.12 }`. */
export type ProgressFields = Record<string, number | string>;

/** A progress display for one bounded piece of work. */
export interface Progress {
  /** Sets the number of finished units and the fields shown beside the bar. */
  update(done: number, fields?: ProgressFields): void;
  /** Marks the work finished and leaves the final line visible. */
  finish(fields?: ProgressFields): void;
}

/** Where progress goes: chosen from the environment unless given. */
export type ProgressMode = "terminal" | "jupyter" | "lines" | "silent";

/** Options of {@linkcode createProgress}. */
export interface ProgressOptions {
  mode?: ProgressMode;
  /** Minimum milliseconds between redraws (default 200; lines mode: none, one line at finish). */
  intervalMs?: number;
}

interface JupyterLike {
  broadcast(type: string, content: Record<string, unknown>): Promise<void>;
}

function jupyterApi(): JupyterLike | undefined {
  try {
    // Outside `deno jupyter` the getter throws rather than returning undefined.
    return (Deno as unknown as { jupyter?: JupyterLike }).jupyter;
  } catch {
    return undefined;
  }
}

/** Picks the display: Jupyter if running in the Deno kernel, a bar on a TTY, else lines. */
export function detectProgressMode(): ProgressMode {
  if (jupyterApi()) return "jupyter";
  try {
    return Deno.stderr.isTerminal() ? "terminal" : "lines";
  } catch {
    return "lines";
  }
}

/**
 * Creates a progress display for `total` units of work labelled `label`.
 *
 * @example
 * ```ts
 * import { createProgress } from "./progress.ts";
 * const bar = createProgress("epoch 1", 10, { mode: "silent" });
 * for (let i = 1; i <= 10; i++) bar.update(i, { loss: 1 / i });
 * bar.finish();
 * ```
 */
export function createProgress(
  label: string,
  total: number,
  options: ProgressOptions = {},
): Progress {
  const mode = options.mode ?? detectProgressMode();
  const interval = options.intervalMs ?? (mode === "lines" ? Infinity : 200);
  const started = performance.now();
  const displayId = `ccl-progress-${crypto.randomUUID()}`;
  let lastDraw = -Infinity;
  let shown = false;
  let done = 0;
  let fields: ProgressFields = {};

  const render = (final: boolean) => {
    if (mode === "silent") return;
    const line = formatProgressLine(label, done, total, performance.now() - started, fields);
    if (mode === "terminal") {
      const text = `\r\x1b[2K${line}${final ? "\n" : ""}`;
      Deno.stderr.writeSync(new TextEncoder().encode(text));
    } else if (mode === "lines") {
      console.error(line);
    } else {
      const jupyter = jupyterApi()!;
      const content = {
        data: { "text/plain": line },
        metadata: {},
        transient: { display_id: displayId },
      };
      void jupyter.broadcast(shown ? "update_display_data" : "display_data", content);
    }
    shown = true;
  };

  return {
    update(value, extra) {
      done = value;
      if (extra) fields = extra;
      const now = performance.now();
      if (Number.isFinite(interval) && now - lastDraw >= interval) {
        lastDraw = now;
        render(false);
      }
    },
    finish(extra) {
      done = total;
      if (extra) fields = extra;
      render(true);
    },
  };
}

/** `label [#####-----] 5/10 50% 1.2 it/s 00:04<00:04 loss=0.1234`. */
export function formatProgressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  fields: ProgressFields = {},
): string {
  const width = 24;
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const rate = done > 0 ? done / (elapsedMs / 1000) : 0;
  const remaining = rate > 0 ? (total - done) / rate * 1000 : NaN;
  const extras = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "number" ? formatNumber(value) : value}`)
    .join(" ");
  return `${label} [${bar}] ${done}/${total} ${(fraction * 100).toFixed(0)}% ` +
    `${rate.toFixed(2)} it/s ${formatDuration(elapsedMs)}<${formatDuration(remaining)}` +
    (extras ? ` ${extras}` : "");
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(4);
}

/** `mm:ss` (or `h:mm:ss`); `--:--` when unknown. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "--:--";
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}
