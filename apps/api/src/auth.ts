// Bearer API keys: every /v1 route needs `Authorization: Bearer <key>`; no key or a bad or revoked key
// is 401 with the error shape. Only the key's SHA-256 is looked up.

import { authenticate, type Principal, type PrismaClient } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import type { FastifyInstance, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function installAuth(app: FastifyInstance, db: PrismaClient): void {
  app.addHook("onRequest", async (req) => {
    if (!req.url.startsWith("/v1/") && req.url !== "/v1") return;
    if (req.principal) return; // signed in with a dashboard session cookie (web/sessions.ts)
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new UserError("unauthorized", "missing API key: send Authorization: Bearer <key>", 401);
    const principal = await authenticate(db, m[1]);
    if (!principal) throw new UserError("unauthorized", "invalid or revoked API key", 401);
    req.principal = principal;
  });
}

export function teamOf(req: FastifyRequest): string {
  if (!req.principal) throw new UserError("unauthorized", "missing API key", 401);
  return req.principal.teamId;
}

/** Parses with a zod schema; schema issues become a 400 with the error shape. */
export function parseWith<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  value: unknown,
  what: string,
): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const where = first.path.length ? `${first.path.map(String).join(".")}: ` : "";
  const e = new UserError("bad_request", `invalid ${what}: ${where}${first.message}`, 400);
  (e as UserError & { details?: unknown }).details = r.error.issues.map((i) => ({
    path: i.path.map(String),
    message: i.message,
  }));
  throw e;
}
