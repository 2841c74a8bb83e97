// The audit trail for routes whose `config.audit` names an action (submit, cancel, retry, register, key
// changes): written when the success answer is about to be sent, from the answer's ids. Routes with richer
// entries (sharing, aliases, webhooks, rotation) record their own. Only ids and names are kept, never a key
// or a secret.
import { type PrismaClient, recordAudit } from "@shortened/adapters";
import fp from "fastify-plugin";

export const auditTrail = fp<{ db: PrismaClient }>(
  async (app, { db }) => {
    app.addHook("onSend", async (req, reply, payload) => {
      const a = req.routeOptions.config.audit;
      if (!a || reply.statusCode !== a.status || !req.principal || typeof payload !== "string")
        return payload;
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
  },
  { name: "audit", dependencies: ["auth"] },
);
