// Leftovers of failed attempts in the artifact store. An attempt deletes what it uploaded when it fails,
// but not when the store is down at that moment (or the worker dies): its objects, and multipart uploads
// the outage cut off, stay under the job's `out/aN/`. The sweeper runs with the reconciler and removes, for
// every job that ended failed or cancelled since its last pass, the outputs of the attempts it had then
// (a retry's new attempt writes under a new prefix, so it is never touched). A failed job has no recorded
// outputs (success and outputs are recorded together), so nothing it removes is referenced. Each pass also
// runs the model-upload sweep when it is due (upload-sweeper.ts: files of registrations that failed while the
// store was down).
import type { PrismaClient } from "@shortened/adapters";
import type { ArtifactStore } from "@shortened/contracts";
import { jobOutputPrefix } from "./keys.js";
import { ModelUploadSweeper, type UploadSweepOptions } from "./upload-sweeper.js";

export class OutputSweeper {
  /** Jobs that ended before this were swept (or predate this process by more than a day). */
  private since = new Date(Date.now() - 24 * 3600_000);
  readonly uploads: ModelUploadSweeper;

  constructor(
    private readonly db: PrismaClient,
    private readonly store: ArtifactStore,
    uploads: UploadSweepOptions = {},
  ) {
    this.uploads = new ModelUploadSweeper(db, store, uploads);
  }

  /** One pass (jobs, then model uploads when due); returns how many objects and uploads it removed. Throws (and
   *  keeps its mark) on store errors. */
  async sweep(limit = 200): Promise<number> {
    const startedAt = new Date();
    const jobs = await this.db.job.findMany({
      where: { state: { in: ["failed", "cancelled"] }, finishedAt: { gte: this.since } },
      select: { id: true, teamId: true, attempts: true, finishedAt: true },
      orderBy: { finishedAt: "asc" },
      take: limit,
    });
    let removed = 0;
    for (const j of jobs) {
      const prefix = jobOutputPrefix(j.teamId, j.id);
      const stale = (await this.store.list(prefix))
        .map((o) => o.key)
        .filter((k) => attemptOf(k.slice(prefix.length)) <= j.attempts);
      if (stale.length) await this.store.delete(stale);
      removed += stale.length + ((await this.store.abortUploads?.(prefix)) ?? 0);
    }
    // A full page: go on after its last job next time; else from (just before) this pass.
    this.since =
      jobs.length === limit ? jobs[jobs.length - 1].finishedAt! : new Date(startedAt.getTime() - 60_000);
    return removed + (await this.uploads.sweepIfDue());
  }
}

/** The attempt number of a key under `out/` (`a3/...` → 3); keys of no attempt count as old. */
function attemptOf(rest: string): number {
  const m = /^a(\d+)\//.exec(rest);
  return m ? Number(m[1]) : 0;
}
