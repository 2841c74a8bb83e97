// Dashboard sign-in: POST /session {apiKey} opens a server-side session and sets it as an HttpOnly,
// SameSite=Strict cookie; GET /session says who is signed in (and the CSRF token); DELETE /session signs
// out. A /v1 request without an Authorization header is authenticated by that cookie, so the browser's
// EventSource, which cannot send headers, can follow a job. Writes made with the cookie must carry the
// session's token in X-CSRF-Token; the REST API keeps Bearer keys, which win over a cookie.
import { closeWebSession, openWebSession, type PrismaClient, webSessionOf } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { parseWith } from "../auth.js";

export const SESSION_COOKIE = "shortened_session";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface SessionOptions {
  /** How long a session lasts, in seconds. */
  ttlSeconds: number;
  /** Set the cookie's Secure flag (behind TLS); by default, when the request came over https. */
  secureCookie?: boolean;
}

const SignInBody = z.object({ apiKey: z.string().min(1).max(200) }).strict();

function cookieOf(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

function setCookie(
  req: FastifyRequest,
  reply: FastifyReply,
  value: string,
  maxAge: number,
  secure?: boolean,
) {
  const flags = ["Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAge}`];
  if (secure ?? req.protocol === "https") flags.push("Secure");
  reply.header("set-cookie", `${SESSION_COOKIE}=${encodeURIComponent(value)}; ${flags.join("; ")}`);
}

/** A browser sends Origin on cross-site POSTs: refuse a sign-in that another site started. */
function checkSameOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin && origin !== "null" && new URL(origin).host !== req.headers.host)
    throw new UserError("forbidden", "sign-in from another site is refused", 403);
}

const whoJson = async (
  db: PrismaClient,
  p: { teamId: string; keyId: string; role: string },
  csrf: string,
) => {
  const team = await db.team.findUniqueOrThrow({ where: { id: p.teamId } });
  const key = await db.apiKey.findUniqueOrThrow({ where: { id: p.keyId } });
  return {
    team: { id: team.id, name: team.name },
    key: { id: key.id, name: key.name, prefix: key.prefix },
    role: p.role,
    csrfToken: csrf,
  };
};

/** Register before installAuth: the cookie hook must run before the Bearer check. */
export function installSessions(app: FastifyInstance, db: PrismaClient, o: SessionOptions): void {
  app.addHook("onRequest", async (req) => {
    if (!req.url.startsWith("/v1/") || req.headers.authorization) return;
    const token = cookieOf(req, SESSION_COOKIE);
    if (!token) return;
    const s = await webSessionOf(db, token);
    if (!s)
      throw new UserError(
        "unauthorized",
        "your session has ended (signed out, expired, or its key was revoked or rotated): sign in again",
        401,
      );
    if (!SAFE_METHODS.has(req.method) && req.headers["x-csrf-token"] !== s.csrfToken)
      throw new UserError("forbidden", "a write with a session cookie needs the X-CSRF-Token header", 403);
    req.principal = s.principal;
  });

  app.post("/session", async (req, reply) => {
    checkSameOrigin(req);
    const { apiKey } = parseWith(SignInBody, req.body, "body");
    const s = await openWebSession(db, apiKey, o.ttlSeconds);
    setCookie(req, reply, s.token, o.ttlSeconds, o.secureCookie);
    reply.header("cache-control", "no-store");
    return reply.status(201).send(await whoJson(db, s.principal, s.csrfToken));
  });

  app.get("/session", async (req, reply) => {
    reply.header("cache-control", "no-store");
    const token = cookieOf(req, SESSION_COOKIE);
    const s = token ? await webSessionOf(db, token) : null;
    if (!s) throw new UserError("unauthorized", "not signed in", 401);
    return whoJson(db, s.principal, s.csrfToken);
  });

  app.delete("/session", async (req, reply) => {
    const token = cookieOf(req, SESSION_COOKIE);
    if (token) {
      const s = await webSessionOf(db, token);
      if (s && req.headers["x-csrf-token"] !== s.csrfToken)
        throw new UserError("forbidden", "sign-out needs the X-CSRF-Token header", 403);
      await closeWebSession(db, token);
    }
    setCookie(req, reply, "", 0, o.secureCookie);
    return reply.status(204).send();
  });
}
