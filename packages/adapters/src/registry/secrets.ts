// Team secrets (Hugging Face Hub tokens): AES-256-GCM under the operator's SECRETS_KEY, with the team and
// the secret's name as associated data, so a row moved to another team or name no longer opens. The value
// goes in once and comes out only inside the service (registration, a worker's download, a push): no
// function here returns it to a route.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { UserError } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";

export const SECRET_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** SECRETS_KEY: 32 bytes as 64 hex characters or base64; null when unset (secrets cannot be stored). */
export function secretsKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | null {
  const v = env.SECRETS_KEY?.trim();
  if (!v) return null;
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : Buffer.from(v, "base64");
  if (key.length !== 32)
    throw new Error("SECRETS_KEY must be 32 bytes: 64 hex characters or base64 of 32 bytes");
  return key;
}

function needKey(key: Buffer | null): Buffer {
  if (!key)
    throw new UserError(
      "bad_request",
      "this service stores no secrets: the operator has not set SECRETS_KEY (32 bytes, hex or base64)",
      422,
    );
  return key;
}

const aad = (teamId: string, name: string) => Buffer.from(`${teamId}\0${name}`);

export function sealSecret(key: Buffer, teamId: string, name: string, value: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv).setAAD(aad(teamId, name));
  const ct = Buffer.concat([c.update(value, "utf8"), c.final()]);
  return ["v1", iv, c.getAuthTag(), ct]
    .map((x) => (typeof x === "string" ? x : x.toString("base64url")))
    .join(":");
}

export function openSecret(key: Buffer, teamId: string, name: string, sealed: string): string {
  const [v, iv, tag, ct] = sealed.split(":");
  if (v !== "v1" || !iv || !tag || ct === undefined) throw new Error(`secret ${name}: unknown format`);
  const d = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url")).setAAD(aad(teamId, name));
  d.setAuthTag(Buffer.from(tag, "base64url"));
  try {
    return Buffer.concat([d.update(Buffer.from(ct, "base64url")), d.final()]).toString("utf8");
  } catch {
    throw new UserError(
      "bad_request",
      `the team secret "${name}" cannot be opened with this service's SECRETS_KEY (was the key changed?): set it again`,
      422,
    );
  }
}

export interface SecretInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}
const info = (r: SecretInfo): SecretInfo => ({
  name: r.name,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

/** Creates or replaces a secret; answers its name and dates only. */
export async function putTeamSecret(
  db: PrismaClient,
  key: Buffer | null,
  o: { teamId: string; name: string; value: string; keyId?: string },
): Promise<SecretInfo> {
  if (!SECRET_NAME.test(o.name))
    throw new UserError("bad_request", `"${o.name}" is not a secret name (a-z, 0-9, _ and -, up to 64)`);
  const ciphertext = sealSecret(needKey(key), o.teamId, o.name, o.value);
  const row = await db.teamSecret.upsert({
    where: { teamId_name: { teamId: o.teamId, name: o.name } },
    create: { teamId: o.teamId, name: o.name, ciphertext, createdByKeyId: o.keyId },
    update: { ciphertext, createdByKeyId: o.keyId },
  });
  return info(row);
}

export async function listTeamSecrets(db: PrismaClient, teamId: string): Promise<SecretInfo[]> {
  return (await db.teamSecret.findMany({ where: { teamId }, orderBy: { name: "asc" } })).map(info);
}

export async function deleteTeamSecret(db: PrismaClient, teamId: string, name: string): Promise<SecretInfo> {
  const row = await db.teamSecret.findFirst({ where: { teamId, name } });
  if (!row) throw new UserError("not_found", `no team secret "${name}"`, 404);
  await db.teamSecret.delete({ where: { id: row.id } });
  return info(row);
}

/** The value, for use inside the service only (never in an answer or a log). */
export async function readTeamSecret(
  db: PrismaClient,
  key: Buffer | null,
  teamId: string,
  name: string,
): Promise<string> {
  const row = await db.teamSecret.findFirst({ where: { teamId, name } });
  if (!row)
    throw new UserError(
      "not_found",
      `no team secret "${name}": an admin sets it with PUT /v1/team/secrets/${name}`,
      422,
    );
  return openSecret(needKey(key), teamId, name, row.ciphertext);
}
