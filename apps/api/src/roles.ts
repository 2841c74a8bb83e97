// Roles: admin keys manage keys, sharing, promotion rules, webhooks and read the audit trail; member
// keys do everything else. One table, checked before any handler runs (403 with the error shape).
import { UserError } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";

export const ADMIN_ROUTES: ReadonlySet<string> = new Set([
  "POST /v1/keys",
  "DELETE /v1/keys/:id",
  "POST /v1/keys/:id/rotate",
  "PUT /v1/models/:id/share",
  "DELETE /v1/models/:id/share",
  "PUT /v1/models/:id/aliases/:alias/rules",
  "GET /v1/webhooks",
  "POST /v1/webhooks",
  "DELETE /v1/webhooks/:id",
  "GET /v1/webhooks/:id/deliveries",
  "GET /v1/audit",
]);

export const isAdminRoute = (method: string, url: string) => ADMIN_ROUTES.has(`${method} ${url}`);

/** Call after installAuth (hooks run in the order they are added). */
export function installRoles(app: FastifyInstance): void {
  app.addHook("onRequest", async (req) => {
    const url = req.routeOptions.url;
    if (!url || !req.principal || !isAdminRoute(req.method, url)) return;
    if (req.principal.role !== "admin")
      throw new UserError(
        "forbidden",
        `${req.method} ${url} needs an admin key (this key is a member key)`,
        403,
      );
  });
}
