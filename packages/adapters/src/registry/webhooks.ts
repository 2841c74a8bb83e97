// Webhooks: a team's URL that receives HMAC-signed job state changes. Job state events (the job event
// table) are turned into delivery rows, one per (webhook, event); a delivery is claimed by moving its
// next attempt time forward, so several API replicas never send the same attempt twice.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { UserError } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { isUuid } from "../ids.js";

export const SIGNATURE_HEADER = "shortened-signature";

export async function createWebhook(db: PrismaClient, teamId: string, url: string, states: string[]) {
  const secret = `whsec_${randomBytes(24).toString("base64url")}`;
  // Only state changes after the webhook exists are delivered.
  const last = await db.jobEvent.aggregate({ _max: { seq: true } });
  const row = await db.webhook.create({
    data: { teamId, url, secret, states, lastSeq: last._max.seq ?? 0n },
  });
  return { row, secret };
}

export function listWebhooks(db: PrismaClient, teamId: string) {
  return db.webhook.findMany({ where: { teamId }, orderBy: { id: "asc" } });
}

export async function getWebhook(db: PrismaClient, teamId: string, id: string) {
  const w = isUuid(id) ? await db.webhook.findFirst({ where: { teamId, id } }) : null;
  if (!w) throw new UserError("not_found", `no webhook "${id}"`, 404);
  return w;
}

export async function deleteWebhook(db: PrismaClient, teamId: string, id: string) {
  const w = await getWebhook(db, teamId, id);
  await db.webhook.delete({ where: { id: w.id } });
  return w;
}

export function listDeliveries(db: PrismaClient, webhookId: string, limit = 100) {
  return db.webhookDelivery.findMany({ where: { webhookId }, orderBy: { id: "desc" }, take: limit });
}

/**
 * Turns new job state events of each active webhook's team into pending deliveries. The cursor only
 * moves past events older than `settleMs`, because a transaction holding a lower seq may commit after
 * a higher one; recent events are read again and the unique (webhook, event) pair keeps each single.
 */
export async function enqueueDeliveries(db: PrismaClient, settleMs = 10_000): Promise<number> {
  const hooks = await db.webhook.findMany({ where: { active: true } });
  const settled = Date.now() - settleMs;
  let created = 0;
  for (const h of hooks) {
    const events = await db.jobEvent.findMany({
      where: {
        seq: { gt: h.lastSeq },
        type: "state",
        job: { teamId: h.teamId },
        createdAt: { gte: h.createdAt },
      },
      include: { job: { select: { id: true, kind: true, parentJobId: true } } },
      orderBy: { seq: "asc" },
      take: 1000,
    });
    const wanted = events.filter((e) => {
      const state = (e.data as { state?: string }).state;
      return h.states.length === 0 || (state !== undefined && h.states.includes(state));
    });
    if (wanted.length) {
      const r = await db.webhookDelivery.createMany({
        data: wanted.map((e) => ({
          webhookId: h.id,
          eventSeq: e.seq,
          jobId: e.jobId,
          payload: {
            type: "job.state_changed",
            seq: e.seq.toString(),
            createdAt: e.createdAt.toISOString(),
            job: { id: e.job.id, kind: e.job.kind, parentJobId: e.job.parentJobId },
            ...(e.data as Record<string, unknown>),
          } as Prisma.InputJsonValue,
        })),
        skipDuplicates: true,
      });
      created += r.count;
    }
    let cursor = h.lastSeq;
    for (const e of events) {
      if (e.createdAt.getTime() >= settled) break;
      cursor = e.seq;
    }
    if (cursor > h.lastSeq)
      await db.webhook.updateMany({
        where: { id: h.id, lastSeq: { lt: cursor } },
        data: { lastSeq: cursor },
      });
  }
  return created;
}

/** Claims due deliveries (moving their next attempt past the lease), oldest first. */
export async function claimDueDeliveries(db: PrismaClient, leaseMs: number, limit = 20) {
  const now = new Date();
  const due = await db.webhookDelivery.findMany({
    where: { state: "pending", nextAttemptAt: { lte: now } },
    orderBy: [{ nextAttemptAt: "asc" }, { eventSeq: "asc" }],
    take: limit,
    include: { webhook: true },
  });
  const claimed = [];
  for (const d of due) {
    const n = await db.webhookDelivery.updateMany({
      where: { id: d.id, state: "pending", nextAttemptAt: d.nextAttemptAt },
      data: { nextAttemptAt: new Date(now.getTime() + leaseMs), attempts: { increment: 1 } },
    });
    if (n.count === 1) claimed.push({ ...d, attempts: d.attempts + 1 });
  }
  return claimed;
}

export async function markDelivered(db: PrismaClient, id: string, status: number) {
  await db.webhookDelivery.update({
    where: { id },
    data: { state: "delivered", lastStatus: status, lastError: null, deliveredAt: new Date() },
  });
}

export async function markAttemptFailed(
  db: PrismaClient,
  id: string,
  e: { status: number | null; error: string; retryAt: Date | null },
) {
  await db.webhookDelivery.update({
    where: { id },
    data: {
      state: e.retryAt ? "pending" : "failed",
      lastStatus: e.status,
      lastError: e.error.slice(0, 500),
      ...(e.retryAt ? { nextAttemptAt: e.retryAt } : {}),
    },
  });
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the scheme Stripe uses). */
export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)) {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

/** Checks a signature header against the raw body; rejects stale timestamps (replays). */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  toleranceSeconds = 300,
  now = Math.floor(Date.now() / 1000),
): boolean {
  const m = header ? /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(now - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split("v1=")[1], "hex");
  return timingSafeEqual(expected, Buffer.from(m[2], "hex"));
}
