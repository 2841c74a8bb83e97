// Dashboard sessions: signing in with an API key opens a session that acts as that key. The browser
// keeps a random token (an HttpOnly cookie); only its SHA-256 is stored. A session ends at sign-out, when
// it expires, or as soon as its key is revoked or rotated (a rotated key's grace period is for scripts).
import { randomBytes } from "node:crypto";
import { UserError } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";
import { hashApiKey } from "../ids.js";
import type { Principal } from "./teams.js";

export interface OpenedSession {
  /** The cookie's value: shown once, to the browser. */
  token: string;
  csrfToken: string;
  expiresAt: Date;
  principal: Principal;
}

export async function openWebSession(
  db: PrismaClient,
  apiKey: string,
  ttlSeconds: number,
): Promise<OpenedSession> {
  const key = await db.apiKey.findUnique({ where: { hash: hashApiKey(apiKey) } });
  if (!key || (key.revokedAt && key.revokedAt <= new Date()))
    throw new UserError("unauthorized", "invalid or revoked API key", 401);
  if (key.revokedAt)
    throw new UserError("unauthorized", "this key was rotated: sign in with its replacement", 401);
  const token = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await db.webSession.create({ data: { tokenHash: hashApiKey(token), csrfToken, keyId: key.id, expiresAt } });
  return { token, csrfToken, expiresAt, principal: { teamId: key.teamId, keyId: key.id, role: key.role } };
}

/** The session of a cookie token, or null when there is none, it expired, or its key was revoked or rotated. */
export async function webSessionOf(
  db: PrismaClient,
  token: string,
): Promise<{ id: string; csrfToken: string; principal: Principal } | null> {
  const s = await db.webSession.findUnique({
    where: { tokenHash: hashApiKey(token) },
    include: { key: true },
  });
  if (!s) return null;
  if (s.expiresAt <= new Date() || s.key.revokedAt) {
    await db.webSession.deleteMany({ where: { id: s.id } });
    return null;
  }
  // lastSeenAt at most once a minute: reading a page must not write on every request.
  if (Date.now() - s.lastSeenAt.getTime() > 60_000)
    await db.webSession.update({ where: { id: s.id }, data: { lastSeenAt: new Date() } });
  return {
    id: s.id,
    csrfToken: s.csrfToken,
    principal: { teamId: s.key.teamId, keyId: s.key.id, role: s.key.role },
  };
}

export async function closeWebSession(db: PrismaClient, token: string): Promise<void> {
  await db.webSession.deleteMany({ where: { tokenHash: hashApiKey(token) } });
}
