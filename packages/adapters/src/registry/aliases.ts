// Registry aliases (`@prod`, `@candidate`): a movable name for one version of a model, its promotion
// rules, and the history of its moves. A move, its history row and its audit entry are one transaction.
import { UserError } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { recordAudit } from "./audit.js";

export function listAliases(db: PrismaClient, teamId: string, modelId: string) {
  return db.modelAlias.findMany({ where: { teamId, modelId }, orderBy: { name: "asc" } });
}

export function findAlias(db: PrismaClient, teamId: string, modelId: string, name: string) {
  return db.modelAlias.findFirst({ where: { teamId, modelId, name } });
}

export async function getAlias(db: PrismaClient, teamId: string, modelId: string, name: string) {
  const a = await findAlias(db, teamId, modelId, name);
  if (!a) throw new UserError("not_found", `no alias @${name} on this model`, 404);
  return a;
}

export async function setAliasRules(
  db: PrismaClient,
  e: { teamId: string; modelId: string; name: string; rules: unknown[]; actorKeyId: string | null },
) {
  return db.$transaction(async (tx) => {
    const alias = await tx.modelAlias.upsert({
      where: { modelId_name: { modelId: e.modelId, name: e.name } },
      create: { teamId: e.teamId, modelId: e.modelId, name: e.name, rules: e.rules as Prisma.InputJsonValue },
      update: { rules: e.rules as Prisma.InputJsonValue },
    });
    await recordAudit(tx, {
      teamId: e.teamId,
      actorKeyId: e.actorKeyId,
      action: "alias.rules",
      targetType: "alias",
      targetId: alias.id,
      data: { modelId: e.modelId, alias: e.name, rules: e.rules },
    });
    return alias;
  });
}

/** Points the alias at a version (creating the alias if needed), with its history row and audit entry. */
export async function moveAlias(
  db: PrismaClient,
  e: {
    teamId: string;
    modelId: string;
    name: string;
    toVersionId: string;
    actorKeyId: string | null;
    checks: unknown[];
  },
) {
  return db.$transaction(async (tx) => {
    const before = await tx.modelAlias.findUnique({
      where: { modelId_name: { modelId: e.modelId, name: e.name } },
    });
    const alias = await tx.modelAlias.upsert({
      where: { modelId_name: { modelId: e.modelId, name: e.name } },
      create: { teamId: e.teamId, modelId: e.modelId, name: e.name, versionId: e.toVersionId },
      update: { versionId: e.toVersionId },
    });
    const move = await tx.aliasMove.create({
      data: {
        aliasId: alias.id,
        fromVersionId: before?.versionId ?? null,
        toVersionId: e.toVersionId,
        actorKeyId: e.actorKeyId,
        checks: e.checks as Prisma.InputJsonValue,
      },
    });
    await recordAudit(tx, {
      teamId: e.teamId,
      actorKeyId: e.actorKeyId,
      action: "alias.move",
      targetType: "alias",
      targetId: alias.id,
      data: {
        modelId: e.modelId,
        alias: e.name,
        fromVersionId: move.fromVersionId,
        toVersionId: e.toVersionId,
      },
    });
    return { alias, move };
  });
}

export function aliasHistory(db: PrismaClient, aliasId: string) {
  return db.aliasMove.findMany({ where: { aliasId }, orderBy: { id: "desc" } });
}

/** The version an alias points at, for references like `name@prod`. */
export async function aliasTarget(db: PrismaClient, teamId: string, modelName: string, name: string) {
  const alias = await db.modelAlias.findFirst({
    where: { teamId, name, model: { teamId, name: modelName } },
  });
  if (!alias) throw new UserError("not_found", `no alias @${name} on model "${modelName}"`, 404);
  if (!alias.versionId)
    throw new UserError("not_found", `alias @${name} of "${modelName}" points at no version yet`, 404);
  return alias.versionId;
}
