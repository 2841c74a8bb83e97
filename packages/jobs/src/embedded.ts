// Embedded mode: the CLI runs jobs in-process against PGlite and a local folder, with the very same
// handlers and runner as the workers. Jobs run one after another, as soon as they are dispatched.
import { join, resolve } from "node:path";
import {
  createTeam,
  endJob,
  LocalStore,
  type OpenedDb,
  openPglite,
  type PrismaClient,
} from "@shortened/adapters";
import { type DeviceName, isUserError, type JobKind, type ProgressSink } from "@shortened/contracts";
import { JobCancelled, runJob } from "./runner.js";
import { asOwner, claimRun, claimRuns, failStaleRuns } from "./stale-runs.js";
import type { Dispatcher, DispatchJob } from "./submit.js";

export interface Embedded {
  db: OpenedDb;
  store: LocalStore;
  dispatcher: InProcessDispatcher;
  stateDir: string;
  close(): Promise<void>;
}

/** The state folder: --state-dir, else SHORTENED_HOME, else ./.shortened. */
export function defaultStateDir(given?: string): string {
  return resolve(given ?? process.env.SHORTENED_HOME ?? ".shortened");
}

export async function openEmbedded(
  stateDir: string,
  opts: { progress?: ProgressSink; signal?: AbortSignal } = {},
): Promise<Embedded> {
  const db = await openPglite(join(stateDir, "db"));
  const store = new LocalStore(join(stateDir, "artifacts"));
  // runs killed with an earlier CLI process are failed as interrupted (stale-runs.ts), so they can be retried
  const runsDir = join(stateDir, "runs");
  await failStaleRuns(db.prisma, runsDir);
  const dispatcher = new InProcessDispatcher(db.prisma, store, join(stateDir, "cache"), { ...opts, runsDir });
  return { db, store, dispatcher, stateDir, close: () => db.close() };
}

/** Embedded mode has one team, "local", created on first use. */
export async function localTeamId(db: PrismaClient): Promise<string> {
  const found = await db.team.findUnique({ where: { name: "local" } });
  if (found) return found.id;
  return (await createTeam(db, "local")).teamId;
}

export class InProcessDispatcher implements Dispatcher {
  constructor(
    private readonly db: PrismaClient,
    private readonly store: LocalStore,
    private readonly cacheDir: string,
    private readonly opts: {
      progress?: ProgressSink;
      signal?: AbortSignal;
      device?: DeviceName;
      /** where each run records its owner process (stale-runs.ts); none: not recorded */
      runsDir?: string;
    },
  ) {}

  claim(rootId: string): void {
    if (this.opts.runsDir) claimRun(this.opts.runsDir, rootId);
  }

  async dispatch(jobs: DispatchJob[]): Promise<void> {
    // Every job of the batch is this process's while it waits its turn (a retry's, a study's children).
    const release = this.opts.runsDir
      ? claimRuns(
          this.opts.runsDir,
          jobs.map((j) => j.id),
        )
      : () => {};
    try {
      for (const j of jobs) {
        const ok = await this.runOne(j);
        if (!ok && j.parentJobId) {
          const step = await this.db.job.findUnique({ where: { id: j.id } });
          await endJob(
            this.db,
            j.parentJobId,
            "failed",
            `step ${j.kind} ${step?.state}: ${step?.reason ?? ""}`.trim(),
            step?.errorCode ?? "step_failed",
          );
          return;
        }
      }
    } finally {
      release();
    }
  }

  /** Runs one job to its end; false when it did not succeed. */
  private runOne(j: DispatchJob): Promise<boolean> {
    return asOwner(this.opts.runsDir, j.id, () => this.runOwned(j));
  }

  private async runOwned(j: DispatchJob): Promise<boolean> {
    try {
      const out = await runJob(
        {
          db: this.db,
          store: this.store,
          cacheDir: this.cacheDir,
          progress: this.opts.progress,
          signal: this.opts.signal,
          device: this.opts.device,
          hubEnvToken: process.env.HF_TOKEN,
        },
        j.id,
      );
      // A job that started children (a study's next phase): run them, then the job again.
      if (out.status === "waiting") {
        await this.dispatch(out.jobs);
        const row = await this.db.job.findUnique({ where: { id: j.id }, select: { state: true } });
        return row?.state === "succeeded";
      }
      return out.status === "succeeded" || (out.status === "already-finished" && out.state === "succeeded");
    } catch (e) {
      if (e instanceof JobCancelled || this.opts.signal?.aborted) {
        await endJob(this.db, j.id, "cancelled", "cancelled", "cancelled");
      } else {
        const user = isUserError(e);
        const msg = (e as Error).message ?? String(e);
        await endJob(this.db, j.id, "failed", msg, user ? (e as { code: string }).code : "internal");
      }
      return false;
    }
  }

  async cancel(_jobId: string, _kind: JobKind): Promise<void> {
    // Jobs run as soon as they are dispatched; a running one sees the cancel request in the database.
  }
}
