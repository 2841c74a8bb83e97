// Models a team shares with the organisation: readable (with their versions) by every team, through
// the /v1/shared routes only, so a team's own lists never mix in other teams' objects.
import { UserError } from "@shortened/contracts";
import type { PrismaClient } from "../generated/prisma/client.js";
import { isUuid } from "../ids.js";
import { findModel } from "./models.js";

export async function shareModel(db: PrismaClient, teamId: string, idOrName: string, keyId: string | null) {
  const model = await findModel(db, teamId, idOrName);
  await db.modelShare.upsert({
    where: { modelId: model.id },
    create: { modelId: model.id, teamId, sharedByKeyId: keyId },
    update: {},
  });
  return model;
}

export async function unshareModel(db: PrismaClient, teamId: string, idOrName: string) {
  const model = await findModel(db, teamId, idOrName);
  await db.modelShare.deleteMany({ where: { modelId: model.id } });
  return model;
}

export async function isShared(db: PrismaClient, modelId: string): Promise<boolean> {
  return (await db.modelShare.count({ where: { modelId } })) > 0;
}

const withOwner = { team: { select: { name: true } }, share: true } as const;

export async function listSharedModels(db: PrismaClient, q: { cursor?: string; limit: number }) {
  const rows = await db.model.findMany({
    where: { share: { isNot: null }, ...(q.cursor ? { id: { lt: q.cursor } } : {}) },
    orderBy: { id: "desc" },
    take: q.limit + 1,
    include: withOwner,
  });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? items[items.length - 1].id : null };
}

/** A shared model by id (names are only unique within a team), with its versions. */
export async function getSharedModel(db: PrismaClient, id: string) {
  const model = isUuid(id)
    ? await db.model.findFirst({ where: { id, share: { isNot: null } }, include: withOwner })
    : null;
  if (!model) throw new UserError("not_found", `no shared model "${id}"`, 404);
  const versions = await db.modelVersion.findMany({ where: { modelId: id }, orderBy: { number: "asc" } });
  return { model, versions };
}

/** A version of a shared model. */
export async function getSharedVersion(db: PrismaClient, id: string) {
  const v = isUuid(id)
    ? await db.modelVersion.findFirst({ where: { id, model: { share: { isNot: null } } } })
    : null;
  if (!v) throw new UserError("not_found", `no shared model version "${id}"`, 404);
  return v;
}
