// Progress and log lines become job events (and the job's progress column), throttled so a chatty
// engine cannot flood the database: at most one progress write per interval, logs batched. Training steps
// (progress with a loss) are never dropped, only batched, so the dashboard can draw the whole curve.
// A pipeline step's progress moves its pipeline's too.

import { appendEvents, type PrismaClient, setProgress } from "@shortened/adapters";
import type { ProgressSink, StepProgress } from "@shortened/contracts";

type Latest = { fraction: number; message?: string; step?: StepProgress };

export class DbProgressSink implements ProgressSink {
  private lastWrite = 0;
  private lastFraction = -1;
  private pending: { type: string; data: unknown }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private latest: Latest | null = null;

  constructor(
    private readonly db: PrismaClient,
    private readonly jobId: string,
    private readonly intervalMs = 500,
    private readonly also?: ProgressSink,
    /** The pipeline this job is a step of: its progress follows. */
    private readonly parentJobId?: string | null,
    /** False once the attempt was superseded by a newer one: then nothing more is written. */
    private readonly current: () => boolean = () => true,
  ) {}

  progress(fraction: number, message?: string, step?: StepProgress): void {
    this.also?.progress(fraction, message, step);
    const f = Math.max(0, Math.min(1, fraction));
    const now = Date.now();
    const due = now - this.lastWrite >= this.intervalMs || f >= 1 || f - this.lastFraction >= 0.25;
    const trainingStep = step?.loss !== undefined;
    if (!due && !trainingStep) {
      this.latest = { fraction: f, message, step };
      return;
    }
    this.pending.push(progressEvent({ fraction: f, message, step }));
    this.latest = null;
    if (!due) return; // a training step waits in the batch for the next write
    this.lastWrite = now;
    this.lastFraction = f;
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
        if (!this.current()) return;
        await appendEvents(this.db, this.jobId, batch);
        if (fraction === undefined) return;
        await setProgress(this.db, this.jobId, round(fraction));
        if (this.parentJobId) await pipelineProgress(this.db, this.parentJobId);
      })
      .catch(() => {
        // Progress is best effort; the job's outcome is recorded separately.
      });
  }

  /** Writes the last throttled progress value and waits for every queued write. */
  async flush(): Promise<void> {
    if (this.latest) {
      this.pending.push(progressEvent(this.latest));
      const f = this.latest.fraction;
      this.latest = null;
      this.kick(f);
    } else if (this.pending.length) this.kick();
    await this.chain;
  }
}

function progressEvent({ fraction, message, step }: Latest) {
  return { type: "progress", data: { fraction: round(fraction), ...(message ? { message } : {}), ...step } };
}

/**
 * A pipeline's progress: each step counts one share (succeeded: whole, running: its own progress) and the
 * pipeline's own closing run is the last share. It never steps back: a study adds children phase by phase
 * (more shares), and concurrent children write in any order, so only a higher value is written.
 */
export async function pipelineProgress(db: PrismaClient, pipelineId: string): Promise<void> {
  const steps = await db.job.findMany({
    where: { parentJobId: pipelineId },
    select: { state: true, progress: true },
  });
  const done = steps.reduce(
    (sum, s) => sum + (s.state === "succeeded" ? 1 : s.state === "running" ? s.progress : 0),
    0,
  );
  const progress = round(done / (steps.length + 1));
  await db.job.updateMany({
    where: { id: pipelineId, state: "running", progress: { lt: progress } },
    data: { progress },
  });
}

const round = (f: number) => Math.round(f * 1e4) / 1e4;
