// The audit trail: who (which API key) submitted, cancelled, shared, moved an alias, changed keys or
// webhooks. Entries name the key by id; no key, secret or signature is ever written here.
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";

type Tx = Prisma.TransactionClient | PrismaClient;

export interface AuditEntry {
  teamId: string;
  actorKeyId: string | null;
  action: string;
  targetType: string;
  targetId?: string | null;
  data?: Record<string, unknown>;
}

export function recordAudit(db: Tx, e: AuditEntry) {
  return db.auditEvent.create({
    data: {
      teamId: e.teamId,
      actorKeyId: e.actorKeyId,
      action: e.action,
      targetType: e.targetType,
      targetId: e.targetId ?? null,
      data: (e.data ?? {}) as Prisma.InputJsonValue,
    },
  });
}

/** Newest first; `cursor` is the last id of the previous page. */
export async function listAudit(
  db: PrismaClient,
  teamId: string,
  q: { action?: string; cursor?: string; limit: number },
) {
  const rows = await db.auditEvent.findMany({
    where: {
      teamId,
      ...(q.action ? { action: q.action } : {}),
      ...(q.cursor ? { id: { lt: q.cursor } } : {}),
    },
    orderBy: { id: "desc" },
    take: q.limit + 1,
  });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? items[items.length - 1].id : null };
}
