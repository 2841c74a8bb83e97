// Service mode's way from the database to BullMQ. The database is the source of truth: a submission
// writes its job rows and an outbox row in one transaction, and this relay moves outbox rows to the
// queue (at once when nudged, and on a timer), so an API killed between the two, or a Redis that is down,
// loses no job. The reconciler compares the open jobs with the queue, at start and periodically, and
// dispatches again every one the queue does not know (e.g. Redis came back empty).
import {
  failJob,
  type JobQueues,
  jobsToReconcile,
  openDispatch,
  outboxTryFailed,
  type PrismaClient,
  pendingOutbox,
  redispatch,
  removeFromOutbox,
} from "@shortened/adapters";
import type { JobKind } from "@shortened/contracts";
import type { OutputSweeper } from "./output-sweeper.js";

export type RelayQueue = Pick<JobQueues, "add" | "jobState" | "failedReason">;

export interface RelayOptions {
  /** Looks at the outbox this often even when not nudged (ms). */
  pollMs: number;
  /** Compares the open jobs with the queue this often (ms); 0: only at start. */
  reconcileMs: number;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Removes what failed attempts left in the artifact store, on the reconciler's timer. */
  sweeper?: OutputSweeper;
}

export function relayOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RelayOptions {
  return {
    pollMs: Number(env.OUTBOX_POLL_MS ?? 1000),
    reconcileMs: Number(env.RECONCILE_INTERVAL_MS ?? 30_000),
  };
}

/** Runs `f` one at a time; a call while it runs makes it run once more afterwards. */
class SingleFlight {
  private running: Promise<void> | null = null;
  private again = false;
  constructor(private readonly f: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.f();
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}

export class QueueRelay {
  private readonly relay = new SingleFlight(() => this.drain());
  private readonly reconciler = new SingleFlight(async () => {
    await this.reconcileOnce();
    const removed = await this.opts.sweeper?.sweep().catch((e) => {
      this.opts.log?.("sweeping failed attempts' outputs failed; retrying later", {
        error: (e as Error).message,
      });
      return 0;
    });
    if (removed) this.opts.log?.("removed failed attempts' outputs", { removed });
  });
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(
    private readonly db: PrismaClient,
    private readonly queue: RelayQueue,
    private readonly opts: RelayOptions,
  ) {}

  /** Relays what is waiting, reconciles once, and keeps doing both on their timers. */
  start(): void {
    this.kick();
    void this.reconciler.run();
    this.timers.push(setInterval(() => this.kick(), this.opts.pollMs));
    if (this.opts.reconcileMs > 0)
      this.timers.push(setInterval(() => void this.reconciler.run(), this.opts.reconcileMs));
    for (const t of this.timers) t.unref();
  }

  /** Something was written to the outbox: relay it now (never throws; a failure waits for the timer). */
  kick(): void {
    if (!this.closed) void this.relay.run();
  }

  /** Relays every outbox row there is now; resolves when done (tests and the reconciler use it). */
  flush(): Promise<void> {
    return this.relay.run();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const rows = await pendingOutbox(this.db).catch((e) => {
        this.opts.log?.("outbox read failed", { error: (e as Error).message });
        return [];
      });
      if (rows.length === 0 || this.closed) return;
      for (const row of rows) {
        try {
          // Adding a dispatch twice is a no-op (its BullMQ ids are fixed), so a relay that dies between
          // the add and the delete only repeats a no-op.
          await this.queue.add(row.entries);
          await removeFromOutbox(this.db, row.seq);
        } catch (e) {
          await outboxTryFailed(this.db, row.seq, (e as Error).message).catch(() => {});
          this.opts.log?.("outbox relay failed; retrying later", {
            jobId: row.jobId,
            error: (e as Error).message,
          });
          return;
        }
      }
    }
  }

  /**
   * Finds open root jobs whose dispatch the queue does not have and dispatches them again (with their
   * open pipeline steps); a dispatch BullMQ gave up on (too many stalls) fails its job.
   */
  async reconcileOnce(): Promise<{ requeued: string[]; failed: string[] }> {
    const requeued: string[] = [];
    const failed: string[] = [];
    try {
      for (const job of await jobsToReconcile(this.db)) {
        if (this.closed) break;
        const key = job.queueKey ?? job.id;
        const state = await this.queue.jobState(job.kind as JobKind, key);
        if (state === "unknown") {
          const open = await openDispatch(this.db, job.id);
          if (open.queueKey !== job.queueKey) continue; // dispatched again meanwhile
          if (await redispatch(this.db, job.id, job.queueKey, open.jobs)) requeued.push(job.id);
        } else if (state === "failed") {
          const now = await this.db.job.findUnique({ where: { id: job.id }, select: { queueKey: true } });
          if (now?.queueKey !== job.queueKey) continue;
          const why = (await this.queue.failedReason(job.kind as JobKind, key)) ?? "the queue gave up on it";
          await failJob(this.db, job.id, why, "internal");
          failed.push(job.id);
        }
      }
    } catch (e) {
      this.opts.log?.("reconcile failed; retrying later", { error: (e as Error).message });
    }
    if (requeued.length || failed.length) {
      this.opts.log?.("reconciled jobs with the queue", { requeued, failed });
      this.kick();
    }
    return { requeued, failed };
  }

  /** Runs one reconcile pass now and waits for it and the relay it starts. */
  async reconcile(): Promise<void> {
    await this.reconciler.run();
    await this.relay.idle();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
