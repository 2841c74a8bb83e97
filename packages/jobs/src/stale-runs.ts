// Embedded mode runs jobs inside the CLI process. A run killed with it (SIGKILL, a crash) leaves its job
// `running` for ever, and `jobs retry` refuses a running job; a job it had submitted but not started yet stays
// `queued` for ever (embedded mode has no queue that another process would take it from). So every job records
// its owner process (<state>/runs/<job>.json: pid and start time, adapters' process-owner.ts) from before its
// row is written or queued again (the submission or the retry claims it) until its run ends, and opening the state folder fails each
// `running` or `queued` job whose owner is gone, with the reason "interrupted" (errorCode `interrupted`): it can
// then be retried, and a retrain's retry resumes from the state it saved last. A job whose owner still runs
// (another CLI process on the same state folder), or whose pipeline's or study's owner does, is left alone.
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

/** Fails the running and queued jobs whose process is gone; returns their ids. */
export async function failStaleRuns(db: PrismaClient, runsDir: string): Promise<string[]> {
  mkdirSync(runsDir, { recursive: true });
  const open = await db.job.findMany({
    where: { state: { in: ["running", "queued"] } },
    select: { id: true, state: true, parentJobId: true },
  });
  const byId = new Map(open.map((j) => [j.id, j]));
  /** The job's recorded owner, else that of the open job above it (a pipeline's or study's children). */
  const ownerOf = (id: string) => {
    for (let j = byId.get(id); j; j = j.parentJobId ? byId.get(j.parentJobId) : undefined) {
      const owner = readOwner(ownerFile(runsDir, j.id));
      if (owner) return owner;
    }
    return null;
  };
  const failed: string[] = [];
  // Top jobs first: ending one ends its open steps with it.
  const order = [...open].sort(
    (a, b) => Number(byId.has(a.parentJobId ?? "")) - Number(byId.has(b.parentJobId ?? "")),
  );
  for (const { id, state } of order) {
    const owner = ownerOf(id);
    if (owner && ownerAlive(owner)) continue;
    const who = owner ? `the process that ran it (pid ${owner.pid})` : "the process that ran it";
    const reason =
      state === "running"
        ? `interrupted: ${who} ended before the job finished (killed?); \`jobs retry ${id}\` runs it again (retraining resumes from its last saved state)`
        : `interrupted: ${who.replace("ran it", "submitted it")} ended before the job started (killed?); \`jobs retry ${id}\` runs it`;
    if (await endJob(db, id, "failed", reason, "interrupted")) failed.push(id);
  }
  // records of runs that are no longer open (a kill between the job's end and the record's removal, a claim
  // whose submission failed)
  const still = new Set(
    (await db.job.findMany({ where: { state: { in: ["running", "queued"] } }, select: { id: true } })).map(
      (j) => j.id,
    ),
  );
  for (const name of readdirSync(runsDir)) {
    const id = name.replace(/\.json$/, "");
    const owner = readOwner(join(runsDir, name));
    if (!still.has(id) && (!owner || !ownerAlive(owner))) removeOwner(join(runsDir, name));
  }
  return failed;
}

/** Records this process as the owner of a job about to be written (its submission). */
export function claimRun(runsDir: string, jobId: string): void {
  mkdirSync(runsDir, { recursive: true });
  writeOwner(ownerFile(runsDir, jobId));
}

/** Records this process as the owner of jobs it will run; returns what removes those records. */
export function claimRuns(runsDir: string, jobIds: string[]): () => void {
  for (const id of jobIds) claimRun(runsDir, id);
  return () => {
    for (const id of jobIds) removeOwner(ownerFile(runsDir, id));
  };
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
