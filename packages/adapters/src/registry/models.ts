// Models and their versions. A version's parent link gives the lineage (base -> pruned -> retrained
// -> merged); every job output becomes a new version of its input's model.
import { type StoredObject, UserError, type VersionInfo, type VersionKind } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { isUuid } from "../ids.js";
import { aliasTarget } from "./aliases.js";
import { isUniqueViolation } from "./errors.js";

type Tx = Prisma.TransactionClient | PrismaClient;

export interface NewBaseModel {
  teamId: string;
  name: string;
  description?: string;
  license?: string;
  sourceUri: string;
  storagePrefix: string;
  config: Record<string, unknown>;
  /** Files already stored and verified under storagePrefix. */
  files: (StoredObject & { name: string })[];
  /** The version's recipe (default: {source: sourceUri}). */
  recipe?: Record<string, unknown>;
}

export async function createBaseModel(db: PrismaClient, m: NewBaseModel) {
  try {
    return await db.$transaction(async (tx) => {
      const model = await tx.model.create({
        data: {
          teamId: m.teamId,
          name: m.name,
          description: m.description,
          license: m.license,
          sourceUri: m.sourceUri,
          config: m.config as Prisma.InputJsonValue,
        },
      });
      const version = await tx.modelVersion.create({
        data: {
          teamId: m.teamId,
          modelId: model.id,
          number: 1,
          kind: "base",
          storagePrefix: m.storagePrefix,
          config: m.config as Prisma.InputJsonValue,
          recipe: (m.recipe ?? { source: m.sourceUri }) as Prisma.InputJsonValue,
        },
      });
      await tx.artifact.createMany({
        data: m.files.map((f) => artifactRow(m.teamId, f, { versionId: version.id })),
      });
      return { model, version };
    });
  } catch (e) {
    if (isUniqueViolation(e))
      throw new UserError("conflict", `a model named "${m.name}" already exists`, 409);
    throw e;
  }
}

export function artifactRow(
  teamId: string,
  f: StoredObject & { name: string },
  owner: { versionId?: string; jobId?: string },
): Prisma.ArtifactCreateManyInput {
  return {
    teamId,
    name: f.name,
    key: f.key,
    size: BigInt(f.size),
    sha256: f.sha256,
    contentType: f.contentType,
    versionId: owner.versionId ?? null,
    jobId: owner.jobId ?? null,
  };
}

/** The next version of a model, created inside the caller's transaction. */
export async function createChildVersion(
  tx: Tx,
  v: {
    teamId: string;
    parentId: string;
    kind: VersionKind;
    storagePrefix: string;
    recipe: Record<string, unknown>;
    config?: Record<string, unknown>;
    jobId: string;
  },
) {
  const parent = await tx.modelVersion.findUniqueOrThrow({ where: { id: v.parentId } });
  // Two jobs that finish at once on versions of one model would both take the next number (and one fail
  // on the unique constraint): the model's row lock makes them take turns.
  await tx.$queryRaw`SELECT id FROM "Model" WHERE id = ${parent.modelId} FOR UPDATE`;
  const last = await tx.modelVersion.findFirst({
    where: { modelId: parent.modelId },
    orderBy: { number: "desc" },
  });
  return tx.modelVersion.create({
    data: {
      teamId: v.teamId,
      modelId: parent.modelId,
      number: (last?.number ?? 0) + 1,
      kind: v.kind,
      parentId: parent.id,
      storagePrefix: v.storagePrefix,
      recipe: v.recipe as Prisma.InputJsonValue,
      config: (v.config ?? parent.config ?? undefined) as Prisma.InputJsonValue | undefined,
      producedByJobId: v.jobId,
    },
  });
}

export async function findModel(db: PrismaClient, teamId: string, idOrName: string) {
  const model = await db.model.findFirst({
    where: isUuid(idOrName) ? { teamId, id: idOrName } : { teamId, name: idOrName },
  });
  if (!model) throw new UserError("not_found", `no model "${idOrName}"`, 404);
  return model;
}

export async function listModels(
  db: PrismaClient,
  teamId: string,
  q: { q?: string; architecture?: string; updatedSince?: string; cursor?: string; limit: number },
) {
  const where: Prisma.ModelWhereInput = { teamId };
  if (q.q)
    where.OR = [
      { name: { contains: q.q, mode: "insensitive" } },
      { description: { contains: q.q, mode: "insensitive" } },
    ];
  if (q.architecture) where.config = { path: ["architecture"], equals: q.architecture };
  if (q.updatedSince) where.updatedAt = { gte: new Date(q.updatedSince) };
  if (q.cursor) where.id = { lt: q.cursor };
  const rows = await db.model.findMany({
    where,
    orderBy: { id: "desc" },
    take: q.limit + 1,
    include: { versions: { orderBy: { number: "desc" }, take: 1 } },
  });
  const items = rows.slice(0, q.limit);
  return { items, nextCursor: rows.length > q.limit ? items[items.length - 1].id : null };
}

export function listVersions(db: PrismaClient, teamId: string, modelId: string) {
  return db.modelVersion.findMany({ where: { teamId, modelId }, orderBy: { number: "asc" } });
}

export async function getVersion(db: PrismaClient, teamId: string, id: string) {
  const v = isUuid(id) ? await db.modelVersion.findFirst({ where: { teamId, id } }) : null;
  if (!v) throw new UserError("not_found", `no model version "${id}"`, 404);
  return v;
}

/** Ancestors (nearest first) and direct children of a version. */
export async function lineage(db: PrismaClient, teamId: string, id: string) {
  const version = await getVersion(db, teamId, id);
  const ancestors = [];
  let parentId = version.parentId;
  while (parentId) {
    const p = await db.modelVersion.findFirst({ where: { teamId, id: parentId } });
    if (!p) break;
    ancestors.push(p);
    parentId = p.parentId;
  }
  const children = await db.modelVersion.findMany({
    where: { teamId, parentId: id },
    orderBy: { id: "asc" },
  });
  return { version, ancestors, children };
}

export function toVersionInfo(v: {
  id: string;
  teamId: string;
  modelId: string;
  number: number;
  kind: string;
  storagePrefix: string;
  recipe: unknown;
  parentId?: string | null;
  model: { name: string };
}): VersionInfo {
  return {
    id: v.id,
    teamId: v.teamId,
    modelId: v.modelId,
    modelName: v.model.name,
    number: v.number,
    kind: v.kind as VersionKind,
    storagePrefix: v.storagePrefix,
    recipe: (v.recipe ?? {}) as Record<string, unknown>,
    parentId: v.parentId ?? null,
  };
}

/**
 * A model reference within a team: a version id, `name` (latest version), `name@N`, or `job:<id>`
 * (the version a job produced, or for jobs that produce none, the version it read).
 */
export async function resolveVersion(db: PrismaClient, teamId: string, ref: string): Promise<VersionInfo> {
  const include = { model: { select: { name: true } } } as const;
  if (ref.startsWith("job:")) {
    const jobId = ref.slice(4);
    const job = isUuid(jobId)
      ? await db.job.findFirst({ where: { teamId, id: jobId }, include: { outputVersion: true } })
      : null;
    if (!job) throw new UserError("not_found", `no job "${jobId}"`, 404);
    const id = job.outputVersion?.id ?? job.inputVersionId;
    if (!id) throw new UserError("bad_request", `job ${jobId} has not produced a model yet`);
    return toVersionInfo(await db.modelVersion.findUniqueOrThrow({ where: { id }, include }));
  }
  if (isUuid(ref)) {
    const v = await db.modelVersion.findFirst({ where: { teamId, id: ref }, include });
    if (v) return toVersionInfo(v);
  }
  const alias = /^(.+)@([a-z][a-z0-9-]*)$/.exec(ref);
  if (alias) {
    const id = await aliasTarget(db, teamId, alias[1], alias[2]);
    return toVersionInfo(await db.modelVersion.findUniqueOrThrow({ where: { id }, include }));
  }
  const m = /^(.*)@(\d+)$/.exec(ref);
  const name = m ? m[1] : ref;
  const model = await db.model.findFirst({
    where: { teamId, OR: [{ name }, ...(isUuid(name) ? [{ id: name }] : [])] },
  });
  if (!model) throw new UserError("not_found", `no model or version "${ref}"`, 404);
  const v = await db.modelVersion.findFirst({
    where: { modelId: model.id, ...(m ? { number: Number(m[2]) } : {}) },
    orderBy: { number: "desc" },
    include,
  });
  if (!v) throw new UserError("not_found", `model "${name}" has no version ${m ? m[2] : ""}`.trim(), 404);
  return toVersionInfo(v);
}
