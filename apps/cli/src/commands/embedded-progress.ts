// Progress of embedded jobs on stderr (stdout stays for the result): log lines always, and on a
// terminal a single updating progress line.
import type { ProgressSink } from "@shortened/contracts";

export function stderrProgress(): ProgressSink {
  const tty = process.stderr.isTTY;
  let last = "";
  return {
    progress(fraction, message) {
      if (!tty) return;
      const line = `  ${(fraction * 100).toFixed(0).padStart(3)}% ${message ?? ""}`;
      if (line !== last) process.stderr.write(`\r${line.padEnd(60)}`);
      last = line;
    },
    log(line) {
      process.stderr.write(`${tty && last ? "\r".padEnd(62) + "\r" : ""}${line}\n`);
      last = "";
    },
  };
}

/** Ctrl-C stops the embedded job (it ends as cancelled) instead of killing the process mid-write. */
export function interruptSignal(): AbortSignal {
  const ctrl = new AbortController();
  process.once("SIGINT", () => {
    process.stderr.write("\ninterrupted: stopping the job\n");
    ctrl.abort(new Error("interrupted"));
  });
  return ctrl.signal;
}

/** A Hub download's progress on stderr (a terminal only; --json and pipes stay quiet). */
export function hubProgressBar(quiet?: boolean): {
  update: (p: { file: string; bytes: number; totalBytes: number }) => void;
  stop: () => void;
} {
  const tty = process.stderr.isTTY && !quiet;
  let shown = false;
  return {
    update(p) {
      if (!tty) return;
      const pct = p.totalBytes ? (100 * p.bytes) / p.totalBytes : 100;
      process.stderr.write(
        `\r  downloading ${pct.toFixed(0).padStart(3)}% ${(p.bytes / 1e6).toFixed(1)}/${(p.totalBytes / 1e6).toFixed(1)} MB ${p.file}`.padEnd(
          78,
        ),
      );
      shown = true;
    },
    stop() {
      if (shown) process.stderr.write("\n");
    },
  };
}
