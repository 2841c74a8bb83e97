// Recording what a job produced, in one transaction, after every object was uploaded and verified:
// the new version, its files, the job's artifacts, its metrics, and the job's success. Either all of
// it is recorded or none (the caller then deletes the uploaded objects), so no row points at a missing
// object and a failed job leaves nothing behind.
import type { MetricOutput, StoredObject, VersionKind } from "@shortened/contracts";
import { UserError } from "@shortened/contracts";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { isUuid, protocolHash } from "../ids.js";
import { appendEvents } from "./jobs.js";
import { artifactRow, createChildVersion } from "./models.js";

export type NamedObject = StoredObject & { name: string };

export interface JobSuccess {
  jobId: string;
  teamId: string;
  inputVersionId: string | null;
  version?: {
    parentId: string;
    kind: VersionKind;
    storagePrefix: string;
    recipe: Record<string, unknown>;
    config?: Record<string, unknown>;
    files: NamedObject[];
  };
  artifacts: NamedObject[];
  metrics: MetricOutput[];
  summary: Record<string, unknown>;
  /** The attempt that produced it: recorded only while it is still the job's current attempt. */
  attempt?: number;
}

export class JobNoLongerRunning extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled, finished or restarted elsewhere before its result was recorded`);
    // The name crosses the worker's IPC channel (apps/worker/src/job-process.ts rebuilds the class from it).
    this.name = "JobNoLongerRunning";
  }
}

/** Returns the new version's id (if any). Throws JobNoLongerRunning when the job was cancelled meanwhile. */
export async function recordSuccess(db: PrismaClient, s: JobSuccess): Promise<string | null> {
  return db.$transaction(async (tx) => {
    let versionId: string | null = null;
    if (s.version) {
      const v = await createChildVersion(tx, { ...s.version, teamId: s.teamId, jobId: s.jobId });
      versionId = v.id;
      await tx.artifact.createMany({
        data: s.version.files.map((f) => artifactRow(s.teamId, f, { versionId: v.id, jobId: s.jobId })),
      });
    }
    if (s.artifacts.length)
      await tx.artifact.createMany({
        data: s.artifacts.map((f) => artifactRow(s.teamId, f, { jobId: s.jobId })),
      });
    const measured = versionId ?? s.inputVersionId;
    const metrics: Prisma.MetricCreateManyInput[] = s.metrics.map((m) => ({
      teamId: s.teamId,
      jobId: s.jobId,
      versionId: m.versionId ?? measured!,
      name: m.name,
      value: m.value,
      protocol: m.protocol as Prisma.InputJsonValue,
      protocolHash: protocolHash(m.protocol),
    }));
    if (metrics.some((m) => !m.versionId)) throw new Error("a metric has no model version to belong to");
    if (metrics.length) await tx.metric.createMany({ data: metrics });
    const summary = { ...s.summary, ...(versionId ? { outputVersionId: versionId } : {}) };
    const n = await tx.job.updateMany({
      where: {
        id: s.jobId,
        state: "running",
        cancelRequestedAt: null,
        ...(s.attempt === undefined ? {} : { attempts: s.attempt }),
      },
      data: {
        state: "succeeded",
        progress: 1,
        finishedAt: new Date(),
        result: summary as Prisma.InputJsonValue,
      },
    });
    if (n.count === 0) throw new JobNoLongerRunning(s.jobId);
    await appendEvents(tx, s.jobId, [
      ...s.metrics.map((m) => ({
        type: "metric",
        data: { name: m.name, value: m.value, protocol: m.protocol },
      })),
      ...[...(s.version?.files ?? []), ...s.artifacts].map((a) => ({
        type: "artifact",
        data: { name: a.name, key: a.key, size: a.size },
      })),
      { type: "state", data: { state: "succeeded" } },
    ]);
    return versionId;
  });
}

export async function listArtifacts(
  db: PrismaClient,
  teamId: string,
  by: { jobId?: string; versionId?: string },
) {
  return db.artifact.findMany({
    where: {
      teamId,
      ...(by.jobId ? { jobId: by.jobId } : {}),
      ...(by.versionId ? { versionId: by.versionId } : {}),
    },
    orderBy: { name: "asc" },
  });
}

export async function getArtifact(db: PrismaClient, teamId: string, id: string) {
  const a = isUuid(id) ? await db.artifact.findFirst({ where: { teamId, id } }) : null;
  if (!a) throw new UserError("not_found", `no artifact "${id}"`, 404);
  return a;
}

export async function listMetrics(
  db: PrismaClient,
  teamId: string,
  by: { jobId?: string; versionId?: string; name?: string },
) {
  return db.metric.findMany({
    where: {
      teamId,
      ...(by.jobId ? { jobId: by.jobId } : {}),
      ...(by.versionId ? { versionId: by.versionId } : {}),
      ...(by.name ? { name: by.name } : {}),
    },
    orderBy: { id: "asc" },
  });
}
