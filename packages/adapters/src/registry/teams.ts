// Teams and API keys. A key is shown once, when created; only its SHA-256 is stored.
import { UserError } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";
import { hashApiKey, newApiKey } from "../ids.js";
import { isUniqueViolation } from "./errors.js";

export interface Principal {
  teamId: string;
  keyId: string;
  role: "admin" | "member";
}

export async function createTeam(
  db: PrismaClient,
  name: string,
): Promise<{ teamId: string; apiKey: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/.test(name))
    throw new UserError("bad_request", "team name: letters, digits, space, '.', '_' or '-' (at most 100)");
  const k = newApiKey();
  try {
    const team = await db.team.create({
      data: { name, apiKeys: { create: { name: "default", prefix: k.prefix, hash: k.hash, role: "admin" } } },
    });
    return { teamId: team.id, apiKey: k.key };
  } catch (e) {
    if (isUniqueViolation(e)) throw new UserError("conflict", `a team named "${name}" already exists`, 409);
    throw e;
  }
}

export async function createApiKey(
  db: PrismaClient,
  teamId: string,
  name: string,
  role: "admin" | "member" = "admin",
) {
  const k = newApiKey();
  const row = await db.apiKey.create({ data: { teamId, name, prefix: k.prefix, hash: k.hash, role } });
  return { row, apiKey: k.key };
}

export async function authenticate(db: PrismaClient, key: string): Promise<Principal | null> {
  const row = await db.apiKey.findUnique({ where: { hash: hashApiKey(key) } });
  // A rotated key may keep working until its revokedAt (a grace period).
  if (!row || (row.revokedAt && row.revokedAt <= new Date())) return null;
  return { teamId: row.teamId, keyId: row.id, role: row.role };
}

export function listApiKeys(db: PrismaClient, teamId: string) {
  return db.apiKey.findMany({ where: { teamId }, orderBy: { id: "asc" } });
}

export async function revokeApiKey(db: PrismaClient, teamId: string, id: string) {
  const row = await db.apiKey.findFirst({ where: { id, teamId } });
  if (!row) throw new UserError("not_found", "no such API key", 404);
  const now = new Date();
  const revokedAt = row.revokedAt && row.revokedAt <= now ? row.revokedAt : now;
  return db.apiKey.update({ where: { id }, data: { revokedAt } });
}
