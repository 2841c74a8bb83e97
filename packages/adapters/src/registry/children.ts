// A job that runs in phases (a study): each run may start child jobs and then wait for them; it runs again
// once they all finished. Waiting is a flag on the job (SQL only, so older generated clients still build):
// the job stays `running` for its team, its next start is not counted as a preemption, and a cancel ends
// it at once (no attempt of it is running).
import type { JobKind } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { appendEvents, type NewJob } from "./jobs.js";
import { addToOutbox, outboxEntries } from "./outbox.js";

/**
 * Creates `children` of job `id` and sets it waiting, in one transaction, only while `attempt` is its
 * current attempt (false otherwise: a newer attempt runs, or the job ended). With `outbox`, the same
 * transaction writes the dispatch: the children and the job again, which runs once they all finished.
 * Returns the dispatch in queue order (children first, the job last).
 */
export async function awaitChildren(
  db: PrismaClient,
  parent: { id: string; teamId: string; kind: string },
  attempt: number,
  children: NewJob[],
  o: { outbox?: boolean } = {},
): Promise<{ id: string; kind: JobKind; parentJobId: string | null }[] | null> {
  const dispatch = [
    ...children.map((c) => ({ id: c.id, kind: c.kind, parentJobId: parent.id })),
    { id: parent.id, kind: parent.kind as JobKind, parentJobId: null },
  ];
  const ok = await db.$transaction(async (tx) => {
    const n = await tx.$executeRaw`UPDATE "Job" SET "waiting" = true, "updatedAt" = now()
      WHERE "id" = ${parent.id} AND "state" = 'running' AND "attempts" = ${attempt} AND "cancelRequestedAt" IS NULL`;
    if (n === 0) return false;
    for (const c of children) {
      await tx.job.create({
        data: {
          id: c.id,
          teamId: parent.teamId,
          kind: c.kind,
          spec: c.spec as Prisma.InputJsonValue,
          inputVersionId: c.inputVersionId,
          parentJobId: parent.id,
        },
      });
      await tx.jobEvent.create({ data: { jobId: c.id, type: "state", data: { state: "queued" } } });
    }
    await appendEvents(tx, parent.id, [
      { type: "log", data: { line: `waiting for ${children.length} child job(s)` } },
    ]);
    if (o.outbox) await addToOutbox(tx, outboxEntries(dispatch, true));
    return true;
  });
  return ok ? dispatch : null;
}

/** Whether a job waits for its children (no attempt of it runs now). */
export async function isWaiting(db: PrismaClient | Prisma.TransactionClient, id: string): Promise<boolean> {
  const rows = await db.$queryRaw<{ waiting: boolean }[]>`SELECT "waiting" FROM "Job" WHERE "id" = ${id}`;
  return rows[0]?.waiting === true;
}

/**
 * A job found `running` starts again without a preemption when no attempt of it was running: it waited for
 * its children, or its children made it running before its own first attempt (a pipeline). True when so.
 */
export async function resumeWithoutPreemption(db: PrismaClient, id: string): Promise<boolean> {
  const n =
    await db.$executeRaw`UPDATE "Job" SET "attempts" = "attempts" + 1, "waiting" = false, "updatedAt" = now()
    WHERE "id" = ${id} AND "state" = 'running' AND "cancelRequestedAt" IS NULL AND ("waiting" OR "attempts" = 0)`;
  return n > 0;
}
