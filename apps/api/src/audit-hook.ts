// The audit trail for the core routes (submit, cancel, retry, register, key changes): written when the
// success answer is about to be sent, from the route and the answer's ids. Routes of the teams features
// record their own entries (with richer data). Only ids and names are kept, never a key or a secret.
import { type PrismaClient, recordAudit } from "@shortened/adapters";
import type { FastifyInstance, FastifyRequest } from "fastify";

interface Audited {
  action: string;
  targetType: string;
  status: number;
  /** Extra fields picked from the answer (never the whole answer: a new key's answer holds the key). */
  pick?: string[];
}

const AUDITED: Record<string, Audited> = {
  "POST /v1/jobs": { action: "job.submit", targetType: "job", status: 201, pick: ["kind", "inputVersionId"] },
  "POST /v1/jobs/:id/cancel": { action: "job.cancel", targetType: "job", status: 200, pick: ["state"] },
  "POST /v1/jobs/:id/retry": { action: "job.retry", targetType: "job", status: 200 },
  "POST /v1/models": { action: "model.register", targetType: "model", status: 201, pick: ["name"] },
  "POST /v1/models/upload": { action: "model.register", targetType: "model", status: 201, pick: ["name"] },
  "POST /v1/keys": { action: "key.create", targetType: "key", status: 201, pick: ["name", "role", "prefix"] },
  "DELETE /v1/keys/:id": { action: "key.revoke", targetType: "key", status: 200, pick: ["name", "role"] },
};

export function installAuditHook(app: FastifyInstance, db: PrismaClient): void {
  app.addHook("onSend", async (req: FastifyRequest, reply, payload) => {
    const a = req.routeOptions.url ? AUDITED[`${req.method} ${req.routeOptions.url}`] : undefined;
    if (!a || reply.statusCode !== a.status || !req.principal || typeof payload !== "string") return payload;
    try {
      const body = JSON.parse(payload) as Record<string, unknown>;
      const data = Object.fromEntries((a.pick ?? []).map((k) => [k, body[k] ?? null]));
      await recordAudit(db, {
        teamId: req.principal.teamId,
        actorKeyId: req.principal.keyId,
        action: a.action,
        targetType: a.targetType,
        targetId: typeof body.id === "string" ? body.id : null,
        data,
      });
    } catch (e) {
      // The action itself succeeded; a lost audit row must not turn it into an error for the caller.
      req.log.error({ err: e, action: a.action }, "audit write failed");
    }
    return payload;
  });
}
