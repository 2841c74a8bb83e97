// Progress and log lines become job events (and the job's progress column), throttled so a chatty
// engine cannot flood the database: at most one progress write per interval, logs batched.

import { appendEvents, type PrismaClient, setProgress } from "@shortened/adapters";
import type { ProgressSink } from "@shortened/contracts";

export class DbProgressSink implements ProgressSink {
  private lastWrite = 0;
  private lastFraction = -1;
  private pending: { type: string; data: unknown }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private latest: { fraction: number; message?: string } | null = null;

  constructor(
    private readonly db: PrismaClient,
    private readonly jobId: string,
    private readonly intervalMs = 500,
    private readonly also?: ProgressSink,
  ) {}

  progress(fraction: number, message?: string): void {
    this.also?.progress(fraction, message);
    const f = Math.max(0, Math.min(1, fraction));
    this.latest = { fraction: f, message };
    const now = Date.now();
    if (now - this.lastWrite < this.intervalMs && f < 1 && f - this.lastFraction < 0.25) return;
    this.lastWrite = now;
    this.lastFraction = f;
    this.latest = null;
    this.pending.push({ type: "progress", data: { fraction: round(f), ...(message ? { message } : {}) } });
    this.kick(f);
  }

  log(line: string): void {
    this.also?.log(line);
    this.pending.push({ type: "log", data: { line } });
    this.kick();
  }

  private kick(fraction?: number): void {
    const batch = this.pending;
    this.pending = [];
    this.chain = this.chain
      .then(async () => {
        await appendEvents(this.db, this.jobId, batch);
        if (fraction !== undefined) await setProgress(this.db, this.jobId, round(fraction));
      })
      .catch(() => {
        // Progress is best effort; the job's outcome is recorded separately.
      });
  }

  /** Writes the last throttled progress value and waits for every queued write. */
  async flush(): Promise<void> {
    if (this.latest) {
      const { fraction, message } = this.latest;
      this.latest = null;
      this.pending.push({
        type: "progress",
        data: { fraction: round(fraction), ...(message ? { message } : {}) },
      });
      this.kick(fraction);
    }
    await this.chain;
  }
}

const round = (f: number) => Math.round(f * 1e4) / 1e4;
