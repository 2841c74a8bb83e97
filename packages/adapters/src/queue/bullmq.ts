// BullMQ on Redis: a queue per job kind; a pipeline is a flow whose steps run one after another
// (each step is a child of the next; the pipeline job is the root and runs last); a study's phase is a flow
// whose children run in parallel, the study last. Queue payloads carry
// only the job id: the database holds the truth, so a redelivered job re-reads its state.

import type { JobKind } from "@shortened/contracts";
import { type FlowJob, FlowProducer, type JobsOptions, Queue } from "bullmq";
import { Redis } from "ioredis";
import { interactiveKinds } from "./priority.js";

export interface QueueConfig {
  redisUrl: string;
  /** Namespaces every key (tests use one per run). */
  prefix: string;
  /** Attempts for transient errors (bad input fails at once). */
  attempts: number;
  backoffMs: number;
}

/** Lock timings must be the same on every worker of a queue (BullMQ throttles stalled checks per queue). */
export interface LockTimings {
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
}

export function queueConfigFromEnv(env: NodeJS.ProcessEnv = process.env): QueueConfig {
  return {
    redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379",
    prefix: env.QUEUE_PREFIX ?? "shortened",
    attempts: Number(env.JOB_ATTEMPTS ?? 3),
    backoffMs: Number(env.JOB_BACKOFF_MS ?? 5000),
  };
}

export function lockTimingsFromEnv(env: NodeJS.ProcessEnv = process.env): LockTimings {
  return {
    lockDuration: Number(env.WORKER_LOCK_MS ?? 30_000),
    stalledInterval: Number(env.WORKER_STALLED_INTERVAL_MS ?? 30_000),
    // A stall is a dead worker (killed, preempted), not the job's fault: allow many (the database counts
    // them as preemptions; JOB_MAX_PREEMPTIONS bounds them there).
    maxStalledCount: Number(env.WORKER_MAX_STALLED ?? 20),
  };
}

export const queueName = (kind: JobKind, interactive = false) =>
  `jobs-${kind}${interactive ? "-interactive" : ""}`;

export function redisConnection(url: string): Redis {
  // BullMQ workers need maxRetriesPerRequest: null (blocking commands must not time out).
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export interface QueuedJob {
  id: string;
  kind: JobKind;
  parentJobId: string | null;
  /** The BullMQ job id of this dispatch (the outbox's); adding the same one twice is a no-op. */
  queueKey?: string;
  /** Goes to the kind's interactive queue (priority.ts). */
  interactive?: boolean;
}

export class JobQueues {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly flows: FlowProducer;

  constructor(readonly config: QueueConfig) {
    this.connection = redisConnection(config.redisUrl);
    // While Redis is down ioredis reconnects on its own; commands wait (the outbox relay and /readyz
    // report the outage), so the error events need no handler of their own.
    this.connection.on("error", () => {});
    this.flows = new FlowProducer({ connection: this.connection, prefix: config.prefix });
  }

  queue(kind: JobKind, interactive = false): Queue {
    const name = queueName(kind, interactive);
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.config.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /** The queues a job of this kind may be in (its kind's, and the interactive one where there is one). */
  private queuesOf(kind: JobKind): Queue[] {
    return interactiveKinds.includes(kind) ? [this.queue(kind), this.queue(kind, true)] : [this.queue(kind)];
  }

  private options(j: QueuedJob, retry: boolean): JobsOptions {
    return {
      jobId: j.queueKey ?? (retry ? `${j.id}-r${Date.now()}` : j.id),
      attempts: this.config.attempts,
      backoff: { type: "exponential", delay: this.config.backoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  /**
   * Queues jobs. A single job goes to its kind's queue; pipeline steps (given in order, the pipeline
   * job last) become a flow so each step starts only after the one before succeeded; a study's children
   * (the study last) a flow whose children run in parallel before the study.
   */
  async add(jobs: QueuedJob[], retry = false): Promise<void> {
    if (jobs.length === 1) {
      const j = jobs[0];
      await this.queue(j.kind, j.interactive).add(j.kind, { jobId: j.id }, this.options(j, retry));
      return;
    }
    const root = jobs[jobs.length - 1]!;
    if (root.kind === "study") {
      // A study's children run in parallel (across workers); the study runs again once they all finished.
      await this.flows.add({
        name: root.kind,
        queueName: queueName(root.kind),
        data: { jobId: root.id },
        opts: this.options(root, retry),
        children: jobs.slice(0, -1).map((j) => ({
          name: j.kind,
          queueName: queueName(j.kind),
          data: { jobId: j.id },
          opts: { ...this.options(j, retry), failParentOnFailure: true },
        })),
      });
      return;
    }
    let node: FlowJob | undefined;
    for (const j of jobs) {
      const next: FlowJob = {
        name: j.kind,
        queueName: queueName(j.kind),
        data: { jobId: j.id },
        opts: { ...this.options(j, retry), failParentOnFailure: true },
        children: node ? [node] : undefined,
      };
      node = next;
    }
    await this.flows.add(node!);
  }

  /** The BullMQ state of one dispatch of a job ("unknown" when the queue has no such job). */
  async jobState(kind: JobKind, queueKey: string): Promise<string> {
    const job = await this.find(kind, queueKey);
    return job ? await job.getState() : "unknown";
  }

  /** Why BullMQ failed a job (e.g. stalled too often), for the reconciler. */
  async failedReason(kind: JobKind, queueKey: string): Promise<string | null> {
    return (await this.find(kind, queueKey))?.failedReason ?? null;
  }

  private async find(kind: JobKind, queueKey: string) {
    for (const q of this.queuesOf(kind)) {
      const job = await q.getJob(queueKey);
      if (job) return job;
    }
    return undefined;
  }

  /** Counts per state (a kind's interactive queue included), for /readyz and operators. */
  async counts(kind: JobKind) {
    const all = await Promise.all(
      this.queuesOf(kind).map((q) => q.getJobCounts("waiting", "active", "delayed", "failed", "completed")),
    );
    const sum: Record<string, number> = {};
    for (const c of all) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  }

  async ping(): Promise<void> {
    await this.connection.ping();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flows.close();
    this.connection.disconnect();
  }
}

// The worker app uses BullMQ through this package (one place that pins it).
export { type Job as BullJob, UnrecoverableError, WaitingError, Worker } from "bullmq";
