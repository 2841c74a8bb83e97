// The job outbox: the database is the source of truth for jobs, so queueing is written in the same
// transaction as the job rows (an outbox row) and a relay moves it to BullMQ afterwards. Every dispatch
// has its own BullMQ ids (`queueKey`, stored on each job row): adding the same row twice is a no-op in
// BullMQ, and a worker that receives an older dispatch of a job can tell and skip it.
import { randomBytes } from "node:crypto";
import type { JobKind } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { isInteractiveJob } from "../queue/priority.js";

export interface OutboxEntry {
  id: string;
  kind: JobKind;
  parentJobId: string | null;
  /** The BullMQ job id of this dispatch. */
  queueKey: string;
  /** Goes to its kind's interactive queue (queue/priority.ts); absent: the kind's queue. */
  interactive?: boolean;
}

type Tx = PrismaClient | Prisma.TransactionClient;

/**
 * Outbox entries for jobs in queue order (pipeline steps first, the root last). A first dispatch uses
 * the job ids themselves; a later one (retry, reconciliation) a fresh suffix, so it never collides
 * with what an earlier dispatch left in BullMQ.
 */
export function outboxEntries(
  jobs: { id: string; kind: JobKind | string; parentJobId: string | null; spec?: unknown }[],
  redispatch: boolean,
): OutboxEntry[] {
  const suffix = redispatch ? `-r${Date.now().toString(36)}${randomBytes(3).toString("hex")}` : "";
  return jobs.map((j) => ({
    id: j.id,
    kind: j.kind as JobKind,
    parentJobId: j.parentJobId,
    queueKey: `${j.id}${suffix}`,
    ...(isInteractiveJob(j) ? { interactive: true } : {}),
  }));
}

/** Writes an outbox row for a dispatch and each job's queueKey (call inside the creating transaction). */
export async function addToOutbox(tx: Tx, entries: OutboxEntry[]): Promise<void> {
  const root = entries[entries.length - 1];
  await tx.jobOutbox.create({
    data: { jobId: root.id, entries: entries as unknown as Prisma.InputJsonValue },
  });
  for (const e of entries) await tx.job.update({ where: { id: e.id }, data: { queueKey: e.queueKey } });
}

/**
 * Dispatches a root job again (with its open pipeline steps), only if its queueKey is still the one the
 * caller saw: of two reconcilers or retries racing, one wins, so a job is never queued twice.
 */
export async function redispatch(
  db: PrismaClient,
  rootId: string,
  seenQueueKey: string | null,
  jobs: { id: string; kind: string; parentJobId: string | null; spec?: unknown }[],
): Promise<boolean> {
  const entries = outboxEntries(jobs, true);
  const root = entries[entries.length - 1];
  return db.$transaction(async (tx) => {
    const won = await tx.job.updateMany({
      where: { id: rootId, queueKey: seenQueueKey },
      data: { queueKey: root.queueKey },
    });
    if (won.count === 0) return false;
    await addToOutbox(tx, entries);
    return true;
  });
}

export interface OutboxRow {
  seq: bigint;
  jobId: string;
  entries: OutboxEntry[];
  tries: number;
}

export async function pendingOutbox(db: PrismaClient, limit = 100): Promise<OutboxRow[]> {
  const rows = await db.jobOutbox.findMany({ orderBy: { seq: "asc" }, take: limit });
  return rows.map((r) => ({
    seq: r.seq,
    jobId: r.jobId,
    entries: r.entries as unknown as OutboxEntry[],
    tries: r.tries,
  }));
}

export async function removeFromOutbox(db: PrismaClient, seq: bigint): Promise<void> {
  await db.jobOutbox.deleteMany({ where: { seq } });
}

export async function outboxTryFailed(db: PrismaClient, seq: bigint, error: string): Promise<void> {
  await db.jobOutbox.updateMany({
    where: { seq },
    data: { tries: { increment: 1 }, lastError: error.slice(0, 500) },
  });
}

/** Root jobs that should be in the queue (queued, or running) and have no dispatch waiting in the outbox. */
export function jobsToReconcile(db: PrismaClient, limit = 500) {
  return db.job.findMany({
    where: { parentJobId: null, state: { in: ["queued", "running"] }, outbox: { none: {} } },
    select: { id: true, kind: true, state: true, queueKey: true, updatedAt: true },
    orderBy: { id: "asc" },
    take: limit,
  });
}

/** A root job and its pipeline steps that have not finished, in queue order (steps first, root last). */
export async function openDispatch(db: PrismaClient, rootId: string) {
  const root = await db.job.findUniqueOrThrow({
    where: { id: rootId },
    select: { id: true, kind: true, parentJobId: true, queueKey: true, spec: true },
  });
  const steps = await db.job.findMany({
    where: { parentJobId: rootId, state: { in: ["queued", "running"] } },
    select: { id: true, kind: true, parentJobId: true },
    orderBy: { id: "asc" },
  });
  return { queueKey: root.queueKey, jobs: [...steps, root] };
}
