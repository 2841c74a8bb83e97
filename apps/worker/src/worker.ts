// The BullMQ worker process: one BullMQ Worker per job-kind queue, all sharing a process-wide limit on
// jobs running at once. Bad input fails at once; other errors are retried with backoff; a cancel
// request stops the handler through its AbortSignal. A stopped worker is a preemption, not a failure:
// on SIGTERM the running job saves its state (retrain) and is handed back to the queue at once; a killed
// worker's job is taken over after its lock expires; both are counted as `preemptions` on the job, up to
// a generous bound. An attempt that a newer one superseded stops and writes nothing. Each attempt runs in
// a child process (job-process.ts), so the lock renewals here never wait for the model math.

import {
  type BullJob,
  endJob,
  failJob,
  interactiveKinds,
  isCurrentAttempt,
  JobNoLongerRunning,
  type OpenedDb,
  queueName,
  redisConnection,
  releaseAttempt,
  requeueAfterError,
  UnrecoverableError,
  WaitingError,
  Worker,
} from "@shortened/adapters";
import { isUserError, type JobKind, UserError } from "@shortened/contracts";
import {
  AttemptSuperseded,
  isWorkerStopping,
  JobCancelled,
  TooManyPreemptions,
  WorkerStopping,
} from "@shortened/jobs";
import type { WorkerConfig } from "./config.js";
import { JobProcess, jobProcessEnv } from "./job-process.js";
import { Semaphore } from "./semaphore.js";

export interface RunningWorker {
  close(): Promise<void>;
}

export interface WorkerLog {
  info(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export async function startWorker(cfg: WorkerConfig, db: OpenedDb, log: WorkerLog): Promise<RunningWorker> {
  const slots = new Semaphore(cfg.concurrency, cfg.interactiveSlots);
  const shutdown = new AbortController();
  const connection = redisConnection(cfg.queue.redisUrl);
  const keepTimings = await claimLockTimings(connection, cfg);
  /** Idle job processes, one per slot at most (see job-process.ts). */
  const executors: JobProcess[] = Array.from({ length: cfg.concurrency }, () => new JobProcess().start());

  const process = async (bull: BullJob<{ jobId: string }>, token?: string, signal?: AbortSignal) => {
    const jobId = bull.data.jobId;
    const release = await slots.acquire(bull.queueName.endsWith("-interactive"));
    let executor: JobProcess | null = null;
    /** a job process started for this job alone (an environment of its own), ended with it */
    let ownProcess = false;
    const abort = new AbortController();
    const onAbort = () => abort.abort(shutdown.signal.reason ?? signal?.reason);
    shutdown.signal.addEventListener("abort", onAbort);
    signal?.addEventListener("abort", onAbort);
    let attempt = 0;
    try {
      // A dispatch the outbox has since replaced (a retry, or the reconciler after Redis lost it) is stale.
      const row = await db.prisma.job.findUnique({
        where: { id: jobId },
        select: { queueKey: true, kind: true, spec: true },
      });
      if (row?.queueKey && row.queueKey !== bull.id) {
        log.info("stale dispatch skipped", { jobId, queueJobId: bull.id, current: row.queueKey });
        return { status: "stale-dispatch" };
      }
      const env = row ? jobProcessEnv(row) : {};
      ownProcess = Object.keys(env).length > 0;
      executor = ownProcess ? new JobProcess(env) : (executors.pop() ?? new JobProcess());
      const out = await executor.run({
        jobId,
        cacheDir: cfg.cacheDir,
        versionCacheMaxBytes: cfg.versionCacheMaxBytes,
        maxPreemptions: cfg.maxPreemptions,
        device: cfg.device,
        signal: abort.signal,
        onAttempt: (n) => {
          attempt = n;
          log.info("job started", { jobId, kind: bull.name, attempt: n });
        },
      });
      log.info("job finished", { jobId, status: out.status });
      return out;
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      if (
        e instanceof AttemptSuperseded ||
        (e instanceof JobNoLongerRunning && attempt && !(await isCurrentAttempt(db.prisma, jobId, attempt)))
      ) {
        // Another worker runs a newer attempt: this one leaves the job to it.
        log.info("attempt superseded", { jobId, attempt });
        return { status: "superseded" };
      }
      if (e instanceof JobCancelled) {
        await endJob(db.prisma, jobId, "cancelled", "cancelled by request", "cancelled");
        log.info("job cancelled", { jobId });
        throw new UnrecoverableError("cancelled by request");
      }
      if (isWorkerStopping(shutdown.signal.reason)) {
        // Not the job's fault: hand it back now (its state is saved), as a preemption, not a failed attempt.
        if (attempt) await releaseAttempt(db.prisma, jobId, attempt, shutdown.signal.reason.message);
        await bull.moveToWait(token);
        log.info("job released", { jobId, attempt });
        throw new WaitingError();
      }
      if (e instanceof TooManyPreemptions) {
        await failJob(db.prisma, jobId, msg, "preempted", attempt);
        throw new UnrecoverableError(msg);
      }
      if (isUserError(e)) {
        await failJob(db.prisma, jobId, msg, (e as { code: string }).code, attempt);
        log.info("job failed (bad input)", { jobId, reason: msg });
        throw new UnrecoverableError(msg);
      }
      const last = bull.attemptsMade + 1 >= (bull.opts.attempts ?? 1);
      if (last) await failJob(db.prisma, jobId, msg, "internal", attempt);
      else await requeueAfterError(db.prisma, jobId, msg, attempt);
      log.error("job attempt failed", { jobId, attempt, last, error: msg });
      throw e;
    } finally {
      shutdown.signal.removeEventListener("abort", onAbort);
      signal?.removeEventListener("abort", onAbort);
      if (ownProcess) executor?.close();
      else if (executor) executors.push(executor);
      release();
    }
  };

  // A queue per kind, and the interactive queue of a kind that has one (playground generations), whose jobs
  // take the reserved slots (or free ordinary ones, ahead of batch jobs): they never wait behind batch work.
  const queues = cfg.kinds.flatMap((kind: JobKind) =>
    interactiveKinds.includes(kind)
      ? [
          { kind, interactive: false },
          { kind, interactive: true },
        ]
      : [{ kind, interactive: false }],
  );
  const workers = queues.map(({ kind, interactive }) => {
    const w = new Worker(queueName(kind, interactive), process, {
      connection,
      prefix: cfg.queue.prefix,
      // (Interactive jobs also use the ordinary slots when they are free.)
      concurrency: interactive ? cfg.concurrency + cfg.interactiveSlots : cfg.concurrency,
      lockDuration: cfg.lock.lockDuration,
      stalledInterval: cfg.lock.stalledInterval,
      maxStalledCount: cfg.lock.maxStalledCount,
    });
    // Failures our processor did not see (e.g. stalled too many times) still end the job in the database.
    w.on("failed", (bull, err) => {
      if (
        bull?.data?.jobId &&
        (bull.attemptsMade >= (bull.opts.attempts ?? 1) || err instanceof UnrecoverableError)
      )
        void failJob(db.prisma, bull.data.jobId, err.message, "internal").catch(() => {});
    });
    w.on("error", (err) => log.error("worker error", { kind, error: err.message }));
    return w;
  });
  log.info("worker ready", {
    kinds: cfg.kinds,
    concurrency: cfg.concurrency,
    device: cfg.device,
    prefix: cfg.queue.prefix,
    lock: cfg.lock,
  });

  return {
    async close() {
      // Running jobs stop now, save their state and go back to the queue; past the grace, exit anyway
      // (the lock then expires and another worker takes the job over).
      shutdown.abort(new WorkerStopping("the worker is shutting down (SIGTERM)"));
      const grace = setTimeout(
        () => void Promise.all(workers.map((w) => w.close(true))),
        cfg.shutdownGraceMs,
      );
      try {
        await Promise.all(workers.map((w) => w.close()));
      } finally {
        clearTimeout(grace);
        for (const e of executors) e.close();
        clearInterval(keepTimings);
        connection.disconnect();
      }
    },
  };
}

/**
 * Every worker of a queue must use the same lock timings (BullMQ throttles the stalled-job check per
 * queue with the interval of whichever worker checked last). The first worker records its timings in
 * Redis; a worker started with different ones refuses to start. The record expires when no worker
 * has refreshed it for a while, so a new deployment can change them.
 */
async function claimLockTimings(connection: ReturnType<typeof redisConnection>, cfg: WorkerConfig) {
  const key = `${cfg.queue.prefix}:worker-lock-timings`;
  const wanted = JSON.stringify(cfg.lock);
  const ttl = Math.ceil((2 * cfg.lock.stalledInterval + cfg.lock.lockDuration) / 1000) + 60;
  const set = await connection.set(key, wanted, "EX", ttl, "NX");
  const have = set ? wanted : await connection.get(key);
  if (have && have !== wanted)
    throw new UserError(
      "conflict",
      `this worker's lock timings ${wanted} differ from those of the running workers of queue prefix "${cfg.queue.prefix}" (${have}); give every worker the same WORKER_LOCK_MS / WORKER_STALLED_INTERVAL_MS / WORKER_MAX_STALLED`,
    );
  const refresh = setInterval(
    () => void connection.set(key, wanted, "EX", ttl).catch(() => {}),
    (ttl * 1000) / 3,
  );
  refresh.unref();
  return refresh;
}
