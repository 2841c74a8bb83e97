// Embedded mode runs jobs inside the CLI process. A run killed with it (SIGKILL, a crash) leaves its job
// `running` for ever, and `jobs retry` refuses a running job. So every run records its owner process
// (<state>/runs/<job>.json: pid and start time, adapters' process-owner.ts) while it runs, and opening the state folder
// fails each `running` job whose owner is gone, with the reason "interrupted" (errorCode `interrupted`): it can
// then be retried, and a retrain's retry resumes from the state it saved last. A running job whose owner still
// runs (another CLI process on the same state folder) is left alone.
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  endJob,
  ownerAlive,
  type PrismaClient,
  readOwner,
  removeOwner,
  writeOwner,
} from "@shortened/adapters";

export const ownerFile = (runsDir: string, jobId: string) => join(runsDir, `${jobId}.json`);

/** Fails the running jobs whose process is gone; returns their ids. */
export async function failStaleRuns(db: PrismaClient, runsDir: string): Promise<string[]> {
  mkdirSync(runsDir, { recursive: true });
  const running = await db.job.findMany({ where: { state: "running" }, select: { id: true } });
  const failed: string[] = [];
  for (const { id } of running) {
    const path = ownerFile(runsDir, id);
    const owner = readOwner(path);
    if (owner && ownerAlive(owner)) continue;
    const who = owner ? `the process that ran it (pid ${owner.pid})` : "the process that ran it";
    const reason = `interrupted: ${who} ended before the job finished (killed?); \`jobs retry ${id}\` runs it again (retraining resumes from its last saved state)`;
    if (await endJob(db, id, "failed", reason, "interrupted")) failed.push(id);
    removeOwner(path);
  }
  // records of runs that are no longer running (a kill between the job's end and the record's removal)
  const open = new Set(running.map((r) => r.id));
  for (const name of readdirSync(runsDir)) {
    const id = name.replace(/\.json$/, "");
    if (!open.has(id)) {
      const owner = readOwner(join(runsDir, name));
      if (!owner || !ownerAlive(owner)) removeOwner(join(runsDir, name));
    }
  }
  return failed;
}

/** Runs `fn` with this process recorded as the job's owner. */
export async function asOwner<T>(
  runsDir: string | undefined,
  jobId: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!runsDir) return fn();
  const path = ownerFile(runsDir, jobId);
  writeOwner(path);
  try {
    return await fn();
  } finally {
    removeOwner(path);
  }
}
