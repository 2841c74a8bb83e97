// Where a team may register models from by s3:// URI: prefixes an admin of the team allowed, plus those the
// operator allows for everyone (MODEL_SOURCES). The artifact store's own bucket is never a source, except
// the team's own area of it (teams/<team>/): another team's checkpoints cannot be read by naming them.
// Hub models (hf://org/name@revision) follow the same lists: hf:// (the whole configured endpoint),
// hf://org/ or hf://org/name/.
import { UserError } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";
import { hubSourcePath, isHubUri, normalizeHubSource, parseHubUri } from "../hub/hub-uri.js";
import { isUuid } from "../ids.js";
import { isUniqueViolation } from "./errors.js";

/** `s3://bucket/prefix/` with one trailing slash, or a UserError saying what is wrong with the URI. */
export function normalizeS3Prefix(uri: string): string {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(uri);
  if (!m) throw new UserError("bad_request", `${uri} is not an s3://bucket/prefix URI`);
  const path = (m[2] ?? "/").replace(/^\//, "");
  const parts = path.split("/").filter((p, i, all) => p !== "" || i === all.length - 1);
  if (parts.some((p) => p === ".." || p === "." || p.includes("\\")) || /\/\//.test(path))
    throw new UserError("bad_request", `${uri}: no ".", ".." or empty segments in a source prefix`);
  const prefix = path === "" ? "" : path.endsWith("/") ? path : `${path}/`;
  return `s3://${m[1]}/${prefix}`;
}

/** A source as the lists hold it: an s3:// prefix, or hf://, hf://org/ or hf://org/name/ (hub-uri.ts). */
export const normalizeSource = (uri: string): string =>
  isHubUri(uri) ? normalizeHubSource(uri) : normalizeS3Prefix(uri);

/** Why `teamId` may not read `uri` (an s3:// prefix or an hf:// model), or null when it may. */
export async function sourceRefusal(
  db: PrismaClient,
  o: { teamId: string; uri: string; storeBucket: string; operatorSources: string[] },
): Promise<string | null> {
  if (isHubUri(o.uri)) {
    const path = hubSourcePath(parseHubUri(o.uri));
    const allowed = [
      ...o.operatorSources.filter(isHubUri).map(normalizeHubSource),
      ...(await db.modelSource.findMany({ where: { teamId: o.teamId }, select: { prefix: true } })).map(
        (s) => s.prefix,
      ),
    ];
    if (allowed.some((a) => a.startsWith("hf://") && path.startsWith(a))) return null;
    return `${o.uri} is not an allowed model source of this team: an admin adds hf://${parseHubUri(o.uri).repo.split("/")[0]}/ (or the repository, or hf:// for the whole Hub) with POST /v1/team/model-sources`;
  }
  const prefix = normalizeS3Prefix(o.uri);
  const storeRoot = `s3://${o.storeBucket}/`;
  if (prefix.startsWith(storeRoot))
    return prefix.startsWith(`${storeRoot}teams/${o.teamId}/`)
      ? null
      : `${o.uri} is in the service's artifact store outside this team's area (teams/${o.teamId}/)`;
  const allowed = [
    ...o.operatorSources.filter((x) => !isHubUri(x)).map(normalizeS3Prefix),
    ...(await db.modelSource.findMany({ where: { teamId: o.teamId }, select: { prefix: true } })).map(
      (s) => s.prefix,
    ),
  ];
  if (allowed.some((a) => prefix.startsWith(a))) return null;
  return `${o.uri} is not an allowed model source of this team: an admin adds its bucket or prefix with POST /v1/team/model-sources`;
}

export function listModelSources(db: PrismaClient, teamId: string) {
  return db.modelSource.findMany({ where: { teamId }, orderBy: { id: "asc" } });
}

export async function addModelSource(
  db: PrismaClient,
  o: { teamId: string; uri: string; storeBucket: string; keyId?: string },
) {
  const prefix = normalizeSource(o.uri);
  if (prefix.startsWith(`s3://${o.storeBucket}/`))
    throw new UserError(
      "bad_request",
      `${o.uri} is the service's own artifact store: register the team's files there by upload instead`,
      422,
    );
  try {
    return await db.modelSource.create({ data: { teamId: o.teamId, prefix, createdByKeyId: o.keyId } });
  } catch (e) {
    if (isUniqueViolation(e))
      throw new UserError("conflict", `${prefix} is already a model source of this team`, 409);
    throw e;
  }
}

export async function deleteModelSource(db: PrismaClient, teamId: string, id: string) {
  const row = isUuid(id) ? await db.modelSource.findFirst({ where: { teamId, id } }) : null;
  if (!row) throw new UserError("not_found", `no model source "${id}"`, 404);
  await db.modelSource.delete({ where: { id: row.id } });
  return row;
}
