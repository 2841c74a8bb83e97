// GET /v1/audit (admin): the team's audit trail, newest first, with cursor pages.
import { listAudit } from "@shortened/adapters";
import { ListAuditQuery } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import type { ApiDeps } from "./context.js";

export function auditRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.get("/v1/audit", async (req) => {
    const q = parseWith(ListAuditQuery, req.query, "query");
    const page = await listAudit(d.db, teamOf(req), q);
    return {
      items: page.items.map((a) => ({
        id: a.id,
        action: a.action,
        actorKeyId: a.actorKeyId,
        targetType: a.targetType,
        targetId: a.targetId,
        data: a.data,
        createdAt: a.createdAt.toISOString(),
      })),
      nextCursor: page.nextCursor,
    };
  });
}
