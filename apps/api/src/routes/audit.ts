// GET /v1/audit (admin): the team's audit trail, newest first, with cursor pages.
import { listAudit } from "@shortened/adapters";
import { AuditPage, ListAuditQuery } from "@shortened/contracts";
import { teamOf } from "../plugins/auth.js";
import { json } from "../route-schema.js";
import { v1Routes } from "./route-plugin.js";

export const auditRoutes = v1Routes("audit", (app, d) => {
  app.get(
    "/audit",
    {
      schema: {
        operationId: "listAuditEvents",
        summary:
          "the team's audit trail, newest first: who submitted, cancelled, shared, moved an alias, changed keys",
        tags: ["teams"],
        querystring: ListAuditQuery,
        response: { 200: json(AuditPage, "a page of audit events") },
      },
      config: { role: "admin" },
    },
    async (req) => {
      const page = await listAudit(d.db, teamOf(req), req.query);
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
    },
  );
});
