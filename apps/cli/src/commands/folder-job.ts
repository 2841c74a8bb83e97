// The CLI's file-mode commands run the job handlers on folders (FolderRun of @shortened/jobs): progress
// and the handler's log lines on a terminal's stderr; with stderr not a terminal only the execution plan
// (a failure stays its one error line); quiet with --json (the result carries the plan). Ctrl-C stops the
// handler.
import type { ProgressSink } from "@shortened/contracts";
import { FolderRun, type FolderRunOptions } from "@shortened/jobs";
import { interruptSignal, stderrProgress } from "./embedded-progress.js";

const quiet: ProgressSink = { progress() {}, log() {} };
const planOnly: ProgressSink = {
  progress() {},
  log(line) {
    if (line.startsWith("plan: ")) process.stderr.write(`${line}\n`);
  },
};

export async function withFolderRun<T>(
  opts: Omit<FolderRunOptions, "progress" | "signal"> & { json?: boolean },
  work: (run: FolderRun) => Promise<T>,
): Promise<T> {
  const run = new FolderRun({
    ...opts,
    progress: opts.json ? quiet : process.stderr.isTTY ? stderrProgress() : planOnly,
    signal: interruptSignal(),
  });
  try {
    return await work(run);
  } finally {
    run.close();
  }
}
