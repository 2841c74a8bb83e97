// Key rotation: a new key with the same name and role replaces an old one, which stops working now or
// after a grace period (so deployed clients can be switched over). The new key is shown once.
import { UserError } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";
import { isUuid } from "../ids.js";
import { createApiKey } from "./teams.js";

export async function rotateApiKey(db: PrismaClient, teamId: string, id: string, graceSeconds: number) {
  const old = isUuid(id) ? await db.apiKey.findFirst({ where: { id, teamId } }) : null;
  if (!old) throw new UserError("not_found", "no such API key", 404);
  if (old.revokedAt && old.revokedAt <= new Date())
    throw new UserError("conflict", "this key is already revoked; create a new one instead", 409);
  const created = await createApiKey(db, teamId, old.name, old.role);
  const revokedAt = new Date(Date.now() + graceSeconds * 1000);
  const retired = await db.apiKey.update({ where: { id: old.id }, data: { revokedAt } });
  return { ...created, retired };
}
