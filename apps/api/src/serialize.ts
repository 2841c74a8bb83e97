// Database rows -> API JSON: ISO dates, numbers instead of BigInt, no internal columns. The routes
// serialize answers through the contracts' schemas, so a field that does not fit is an error, not a leak.
import type { ApiKeyInfo, Artifact, Job, JobEvent, Metric, Model, ModelVersion } from "@shortened/contracts";
import type { z } from "zod";

type Row = Record<string, unknown>;

const iso = (d: unknown) =>
  d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : String(d);

export function jobJson(j: Row & { outputVersion?: { id: string } | null }): z.output<typeof Job> {
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    spec: j.spec,
    inputVersionId: j.inputVersionId ?? null,
    outputVersionId: j.outputVersion?.id ?? null,
    parentJobId: j.parentJobId ?? null,
    reason: j.reason ?? null,
    errorCode: j.errorCode ?? null,
    progress: j.progress,
    attempts: j.attempts,
    preemptions: j.preemptions ?? 0,
    result: j.result ?? null,
    cancelRequested: j.cancelRequestedAt != null,
    createdAt: iso(j.createdAt),
    updatedAt: iso(j.updatedAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
  } as z.output<typeof Job>;
}

export function versionJson(v: Row): z.output<typeof ModelVersion> {
  return {
    id: v.id,
    modelId: v.modelId,
    number: v.number,
    kind: v.kind,
    parentId: v.parentId ?? null,
    recipe: v.recipe ?? {},
    config: v.config ?? null,
    producedByJobId: v.producedByJobId ?? null,
    createdAt: iso(v.createdAt),
  } as z.output<typeof ModelVersion>;
}

export function modelJson(m: Row & { versions?: Row[] }): z.output<typeof Model> {
  return {
    id: m.id,
    name: m.name,
    description: m.description ?? null,
    sourceUri: m.sourceUri ?? null,
    license: m.license ?? null,
    config: m.config ?? null,
    createdAt: iso(m.createdAt),
    updatedAt: iso(m.updatedAt),
    ...(m.versions ? { latestVersion: m.versions[0] ? versionJson(m.versions[0]) : null } : {}),
  } as z.output<typeof Model>;
}

export function artifactJson(a: Row): z.output<typeof Artifact> {
  return {
    id: a.id,
    name: a.name,
    key: a.key,
    size: Number(a.size),
    sha256: a.sha256,
    contentType: a.contentType,
    jobId: a.jobId ?? null,
    versionId: a.versionId ?? null,
    createdAt: iso(a.createdAt),
  } as z.output<typeof Artifact>;
}

export function metricJson(m: Row): z.output<typeof Metric> {
  return {
    id: m.id,
    versionId: m.versionId,
    jobId: m.jobId ?? null,
    name: m.name,
    value: m.value,
    protocol: m.protocol,
    protocolHash: m.protocolHash,
    createdAt: iso(m.createdAt),
  } as z.output<typeof Metric>;
}

export function eventJson(e: Row): z.output<typeof JobEvent> {
  return {
    seq: String(e.seq),
    type: e.type,
    jobId: e.jobId,
    data: e.data,
    createdAt: iso(e.createdAt),
  } as z.output<typeof JobEvent>;
}

export function keyJson(k: Row): z.output<typeof ApiKeyInfo> {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    role: k.role,
    createdAt: iso(k.createdAt),
    lastUsedAt: iso(k.lastUsedAt),
    revokedAt: iso(k.revokedAt),
  } as z.output<typeof ApiKeyInfo>;
}
