// Job rows: submission (idempotent per team and Idempotency-Key), state changes guarded by the current
// state (so a cancel and a finishing worker cannot both win), listing with filters and cursor pages.
import { type JobKind, type JobState, UserError } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { isUuid } from "../ids.js";
import { isWaiting, resumeWithoutPreemption } from "./children.js";
import { isUniqueViolation } from "./errors.js";
import { addToOutbox, outboxEntries } from "./outbox.js";

export interface NewJob {
  id: string;
  kind: JobKind;
  spec: Record<string, unknown>;
  inputVersionId: string | null;
  parentJobId: string | null;
}

export type JobRow = Prisma.JobGetPayload<{ include: { outputVersion: { select: { id: true } } } }>;
const withOutput = { outputVersion: { select: { id: true } } } as const;

/**
 * Creates a job (and, for a pipeline, its steps) in one transaction. With an idempotency key, a repeat
 * returns the first job instead (created: false), also when two requests race. With `outbox`, the same
 * transaction writes the dispatch to the job outbox (service mode: a relay moves it to the queue).
 */
export async function submitJobs(
  db: PrismaClient,
  teamId: string,
  jobs: NewJob[],
  idempotencyKey?: string,
  o: { outbox?: boolean } = {},
): Promise<{ job: JobRow; created: boolean }> {
  if (idempotencyKey) {
    const existing = await db.job.findUnique({
      where: { teamId_idempotencyKey: { teamId, idempotencyKey } },
      include: withOutput,
    });
    if (existing) return { job: existing, created: false };
  }
  try {
    await db.$transaction(async (tx) => {
      for (const [i, j] of jobs.entries()) {
        await tx.job.create({
          data: {
            id: j.id,
            teamId,
            kind: j.kind,
            spec: j.spec as Prisma.InputJsonValue,
            inputVersionId: j.inputVersionId,
            parentJobId: j.parentJobId,
            idempotencyKey: i === 0 ? idempotencyKey : null,
          },
        });
        await tx.jobEvent.create({ data: { jobId: j.id, type: "state", data: { state: "queued" } } });
      }
      if (o.outbox) await addToOutbox(tx, outboxEntries([...jobs.slice(1), jobs[0]], false));
    });
  } catch (e) {
    if (idempotencyKey && isUniqueViolation(e)) {
      const existing = await db.job.findUnique({
        where: { teamId_idempotencyKey: { teamId, idempotencyKey } },
        include: withOutput,
      });
      if (existing) return { job: existing, created: false };
    }
    throw e;
  }
  return {
    job: await db.job.findUniqueOrThrow({ where: { id: jobs[0].id }, include: withOutput }),
    created: true,
  };
}

export async function getJob(db: PrismaClient, teamId: string, id: string): Promise<JobRow> {
  const job = isUuid(id) ? await db.job.findFirst({ where: { teamId, id }, include: withOutput }) : null;
  if (!job) throw new UserError("not_found", `no job "${id}"`, 404);
  return job;
}

export async function listJobs(
  db: PrismaClient,
  teamId: string,
  q: {
    state?: JobState;
    kind?: JobKind;
    model?: string;
    updatedSince?: string;
    parentJobId?: string;
    cursor?: string;
    limit: number;
  },
) {
  const where: Prisma.JobWhereInput = { teamId };
  if (q.state) where.state = q.state;
  if (q.kind) where.kind = q.kind;
  if (q.model) where.inputVersion = { modelId: q.model };
  if (q.updatedSince) where.updatedAt = { gte: new Date(q.updatedSince) };
  if (q.parentJobId) where.parentJobId = q.parentJobId;
  if (q.cursor) where.id = { lt: q.cursor };
  const rows = await db.job.findMany({
    where,
    orderBy: { id: "desc" },
    take: q.limit + 1,
    include: withOutput,
  });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? items[items.length - 1].id : null };
}

export function pipelineSteps(db: PrismaClient, pipelineId: string) {
  return db.job.findMany({ where: { parentJobId: pipelineId }, orderBy: { id: "asc" }, include: withOutput });
}

/**
 * A worker starts (or restarts) a job: null when it is already finished or cancelled. The returned row's
 * `attempts` is this attempt's number, the fencing token of everything it writes. A job found `running`
 * lost its worker without a word (killed, node gone): that attempt counts as a preemption, not a failure.
 */
export async function startAttempt(db: PrismaClient, id: string): Promise<JobRow | null> {
  const now = new Date();
  const open = { id, cancelRequestedAt: null };
  const before = await db.job.findUnique({ where: { id }, select: { state: true, attempts: true } });
  const resumed = await resumeWithoutPreemption(db, id);
  let preempted = resumed
    ? 0
    : (
        await db.job.updateMany({
          where: { ...open, state: "running" },
          data: { attempts: { increment: 1 }, preemptions: { increment: 1 } },
        })
      ).count;
  if (!preempted && !resumed) {
    const n = await db.job.updateMany({
      where: { ...open, state: "queued" },
      data: { state: "running", attempts: { increment: 1 } },
    });
    if (n.count === 0) return null;
    await db.$executeRaw`UPDATE "Job" SET "waiting" = false WHERE "id" = ${id} AND "waiting"`;
  }
  await db.job.updateMany({ where: { id, startedAt: null }, data: { startedAt: now } });
  const job = await db.job.findUniqueOrThrow({ where: { id }, include: withOutput });
  preempted = preempted ? job.attempts - 1 : 0;
  if (before?.state === "queued" && !preempted)
    await appendEvents(db, id, [{ type: "state", data: { state: "running" } }]);
  if (preempted)
    await appendEvents(db, id, [
      {
        type: "log",
        data: {
          line: `attempt ${job.attempts} started: the worker of attempt ${preempted} stopped (preemption ${job.preemptions})`,
        },
      },
    ]);
  // A pipeline is running as soon as its first step is.
  if (job.parentJobId) {
    const p = await db.job.updateMany({
      where: { id: job.parentJobId, state: "queued", cancelRequestedAt: null },
      data: { state: "running", startedAt: now },
    });
    if (p.count) await appendEvents(db, job.parentJobId, [{ type: "state", data: { state: "running" } }]);
  }
  return job;
}

/** Whether `attempt` is still the job's current attempt (a newer one fences the older one off). */
export async function isCurrentAttempt(db: PrismaClient, id: string, attempt: number): Promise<boolean> {
  const row = await db.job.findUnique({ where: { id }, select: { attempts: true, state: true } });
  return row?.attempts === attempt && row.state === "running";
}

/**
 * A worker that is stopping (SIGTERM, drain, spot reclaim) hands its attempt back: the job is queued
 * again and the attempt counts as a preemption. False when a newer attempt or an end got there first.
 */
export async function releaseAttempt(db: PrismaClient, id: string, attempt: number, why: string) {
  const n = await db.job.updateMany({
    where: { id, state: "running", attempts: attempt },
    data: { state: "queued", preemptions: { increment: 1 } },
  });
  if (n.count)
    await appendEvents(db, id, [
      { type: "log", data: { line: `attempt ${attempt} released: ${why}` } },
      { type: "state", data: { state: "queued", preempted: true } },
    ]);
  return n.count > 0;
}

export async function setInputVersion(db: PrismaClient, id: string, versionId: string) {
  await db.job.update({ where: { id }, data: { inputVersionId: versionId } });
}

/**
 * Ends a job as failed or cancelled (only if it has not finished already). Returns false when it had.
 * Queued or running steps of a pipeline end with it.
 */
export async function endJob(
  db: PrismaClient,
  id: string,
  state: "failed" | "cancelled",
  reason: string,
  code: string,
  /** Only if this is still the job's current attempt (a worker ending its own attempt). */
  attempt?: number,
): Promise<boolean> {
  const now = new Date();
  const n = await db.job.updateMany({
    where: {
      id,
      state: { in: ["queued", "running"] },
      ...(attempt === undefined ? {} : { attempts: attempt }),
    },
    data: { state, reason: reason.slice(0, 2000), errorCode: code, finishedAt: now },
  });
  if (n.count === 0) return false;
  await appendEvents(db, id, [{ type: "state", data: { state, reason, code } }]);
  const open = await db.job.findMany({ where: { parentJobId: id, state: { in: ["queued", "running"] } } });
  for (const s of open) await endJob(db, s.id, "cancelled", `pipeline ${state}: ${reason}`, "cancelled");
  return true;
}

/** Fails a job and, for a pipeline step, its pipeline (whose other open steps are then cancelled). */
export async function failJob(
  db: PrismaClient,
  id: string,
  reason: string,
  code: string,
  attempt?: number,
): Promise<void> {
  // A fenced-off attempt (a newer one runs) ends nothing.
  if (!(await endJob(db, id, "failed", reason, code, attempt)) && attempt !== undefined) return;
  const row = await db.job.findUnique({ where: { id } });
  if (row?.parentJobId)
    await endJob(db, row.parentJobId, "failed", `step ${row.kind} failed: ${reason}`, code);
}

/** A transient failure of attempt `attempt` that will be retried: back to queued, the reason as a log event. */
export async function requeueAfterError(db: PrismaClient, id: string, message: string, attempt: number) {
  const n = await db.job.updateMany({
    where: { id, state: "running", attempts: attempt },
    data: { state: "queued" },
  });
  if (n.count)
    await appendEvents(db, id, [
      { type: "log", data: { line: `attempt ${attempt} failed: ${message}; retrying` } },
      { type: "state", data: { state: "queued", retry: true } },
    ]);
}

/**
 * Asks for cancellation: a queued job ends at once; a running one when its worker sees the request. A job
 * that is taken the request always ends cancelled (a finishing attempt cannot record its result then);
 * one that finished first answers 409.
 */
export async function requestCancel(db: PrismaClient, teamId: string, id: string): Promise<JobRow> {
  const job = await getJob(db, teamId, id);
  const alreadyEnded = (state: string) => new UserError("conflict", `job ${id} is already ${state}`, 409);
  if (job.state === "succeeded" || job.state === "failed" || job.state === "cancelled")
    throw alreadyEnded(job.state);
  const flagged = await db.job.updateMany({
    where: { id, state: { in: ["queued", "running"] }, cancelRequestedAt: null },
    data: { cancelRequestedAt: new Date() },
  });
  if (flagged.count === 0) {
    // Either asked before (still open), or the job finished since it was read above.
    const now = await getJob(db, teamId, id);
    if (now.state === "succeeded" || now.state === "failed" || now.state === "cancelled")
      throw alreadyEnded(now.state);
  }
  await db.job.updateMany({
    where: { parentJobId: id, state: { in: ["queued", "running"] }, cancelRequestedAt: null },
    data: { cancelRequestedAt: new Date() },
  });
  // A queued job, or one waiting for its children (no attempt of it runs), ends now.
  if (job.state === "queued" || (job.state === "running" && (await isWaiting(db, id))))
    await endJob(db, id, "cancelled", "cancelled by request", "cancelled");
  const queuedSteps = await db.job.findMany({ where: { parentJobId: id, state: "queued" } });
  for (const s of queuedSteps) await endJob(db, s.id, "cancelled", "cancelled by request", "cancelled");
  return getJob(db, teamId, id);
}

/** Puts a failed or cancelled job (and its unfinished pipeline steps) back in the queue. */
/**
 * Queues a failed or cancelled job again, with its failed or cancelled steps. `claim` records who will run it
 * (embedded mode: this process, stale-runs.ts) once the job is known retryable and before any row is queued, so
 * that no moment exists in which it is queued without an owner (another CLI opening the folder would fail it).
 */
export async function resetForRetry(
  db: PrismaClient,
  teamId: string,
  id: string,
  o: { claim?: (jobId: string) => void } = {},
): Promise<JobRow[]> {
  const job = await getJob(db, teamId, id);
  if (job.state !== "failed" && job.state !== "cancelled")
    throw new UserError(
      "conflict",
      `only failed or cancelled jobs can be retried; job ${id} is ${job.state}`,
      409,
    );
  o.claim?.(job.id);
  const reset = {
    state: "queued" as const,
    reason: null,
    errorCode: null,
    cancelRequestedAt: null,
    finishedAt: null,
  };
  await db.job.update({ where: { id }, data: reset });
  await db.job.updateMany({
    where: { parentJobId: id, state: { in: ["failed", "cancelled"] } },
    data: reset,
  });
  const rows = [await getJob(db, teamId, id), ...(await pipelineSteps(db, id))];
  for (const r of rows)
    if (r.state === "queued")
      await appendEvents(db, r.id, [{ type: "state", data: { state: "queued", retry: true } }]);
  return rows;
}

export async function setProgress(db: PrismaClient, id: string, progress: number) {
  await db.job.updateMany({ where: { id, state: "running" }, data: { progress } });
}

export async function appendEvents(
  db: PrismaClient | Prisma.TransactionClient,
  jobId: string,
  events: { type: string; data: unknown }[],
) {
  if (events.length === 0) return;
  await db.jobEvent.createMany({
    data: events.map((e) => ({ jobId, type: e.type, data: e.data as Prisma.InputJsonValue })),
  });
}

export async function listEvents(
  db: PrismaClient,
  teamId: string,
  jobId: string,
  after: string | undefined,
  limit: number,
  o: { steps?: boolean } = {},
) {
  await getJob(db, teamId, jobId);
  // With steps: the job's own events and its pipeline steps' (seq is global, so one order serves both).
  const ids = o.steps
    ? [
        jobId,
        ...(await db.job.findMany({ where: { parentJobId: jobId }, select: { id: true } })).map((j) => j.id),
      ]
    : [jobId];
  const rows = await db.jobEvent.findMany({
    where: { jobId: { in: ids }, ...(after ? { seq: { gt: BigInt(after) } } : {}) },
    orderBy: { seq: "asc" },
    take: limit,
  });
  return { items: rows, nextCursor: rows.length ? rows[rows.length - 1].seq.toString() : (after ?? null) };
}
