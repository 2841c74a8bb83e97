// Dashboard sign-in: POST /session {apiKey} opens a server-side session and sets it as an HttpOnly,
// SameSite=Strict cookie; GET /session says who is signed in (and the CSRF token); DELETE /session signs
// out. The cookie is a credential source of the auth plugin (after the Bearer key, which wins), so the
// browser's EventSource, which cannot send headers, can follow a job. Writes made with the cookie must
// carry the session's token in X-CSRF-Token.
import { closeWebSession, openWebSession, type PrismaClient, webSessionOf } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { CredentialSource } from "../plugins/auth.js";
import { errors, json } from "../route-schema.js";
import { publicRoutes } from "../routes/route-plugin.js";

export const SESSION_COOKIE = "shortened_session";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const SignInBody = z.object({ apiKey: z.string().min(1).max(200).describe("an API key (sk_…)") }).strict();
const SessionInfo = z.object({
  team: z.object({ id: z.string(), name: z.string() }),
  key: z.object({ id: z.string(), name: z.string(), prefix: z.string() }),
  role: z.enum(["admin", "member"]),
  csrfToken: z.string().describe("send as X-CSRF-Token with every write made with the session cookie"),
});

function cookieOf(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE)
      return decodeURIComponent(part.slice(i + 1).trim());
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

/** The session cookie as a credential for /v1 (see plugins/auth.ts). */
export function sessionCookieSource(db: PrismaClient): CredentialSource {
  return {
    scheme: {
      name: "session",
      definition: {
        type: "apiKey",
        in: "cookie",
        name: SESSION_COOKIE,
        description: "a dashboard session (POST /session); writes also need the X-CSRF-Token header",
      },
    },
    hint: "sign in to the dashboard",
    async authenticate(req) {
      const token = cookieOf(req);
      if (!token) return null;
      const s = await webSessionOf(db, token);
      if (!s)
        throw new UserError(
          "unauthorized",
          "your session has ended (signed out, expired, or its key was revoked or rotated): sign in again",
          401,
        );
      if (!SAFE_METHODS.has(req.method) && req.headers["x-csrf-token"] !== s.csrfToken)
        throw new UserError("forbidden", "a write with a session cookie needs the X-CSRF-Token header", 403);
      return s.principal;
    },
  };
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
    role: p.role as "admin" | "member",
    csrfToken: csrf,
  };
};

const tags = ["sessions"];

export const sessionRoutes = publicRoutes("sessions", (app, d) => {
  const o = d.web ?? {};
  const ttl = o.sessionTtlSeconds ?? 8 * 3600;

  app.post(
    "/session",
    {
      schema: {
        operationId: "signIn",
        summary: "dashboard sign-in: an API key opens a session held in an HttpOnly cookie",
        tags,
        security: [],
        body: SignInBody,
        response: {
          201: json(SessionInfo, "signed in; Set-Cookie holds the session"),
          ...errors([401, "invalid, revoked or rotated API key"], [403, "a sign-in started by another site"]),
        },
      },
    },
    async (req, reply) => {
      // A browser sends Origin on cross-site POSTs: refuse a sign-in that another site started.
      const origin = req.headers.origin;
      if (origin && origin !== "null" && new URL(origin).host !== req.headers.host)
        throw new UserError("forbidden", "sign-in from another site is refused", 403);
      const s = await openWebSession(d.db, req.body.apiKey, ttl);
      setCookie(req, reply, s.token, ttl, o.secureCookie);
      reply.header("cache-control", "no-store");
      return reply.status(201).send(await whoJson(d.db, s.principal, s.csrfToken));
    },
  );

  app.get(
    "/session",
    {
      schema: {
        operationId: "getSession",
        summary: "who is signed in to the dashboard (and the session's CSRF token)",
        tags,
        security: [{ session: [] }],
        response: { 200: json(SessionInfo, "the session"), ...errors([401, "not signed in"]) },
      },
    },
    async (req, reply) => {
      reply.header("cache-control", "no-store");
      const token = cookieOf(req);
      const s = token ? await webSessionOf(d.db, token) : null;
      if (!s) throw new UserError("unauthorized", "not signed in", 401);
      return whoJson(d.db, s.principal, s.csrfToken);
    },
  );

  app.delete(
    "/session",
    {
      schema: {
        operationId: "signOut",
        summary: "dashboard sign-out: ends the session on the server and clears the cookie",
        tags,
        security: [{ session: [] }],
        response: { 204: z.null().describe("signed out"), ...errors([403, "no X-CSRF-Token"]) },
      },
    },
    async (req, reply) => {
      const token = cookieOf(req);
      if (token) {
        const s = await webSessionOf(d.db, token);
        if (s && req.headers["x-csrf-token"] !== s.csrfToken)
          throw new UserError("forbidden", "sign-out needs the X-CSRF-Token header", 403);
        await closeWebSession(d.db, token);
      }
      setCookie(req, reply, "", 0, o.secureCookie);
      return reply.status(204).send(null);
    },
  );
});
