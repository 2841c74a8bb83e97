// The API's JSON shapes as the dashboard reads them: the components of the OpenAPI document, as the typed
// client (packages/client) generated them, so a change on the server shows here as a type error.
import type { paths, Schemas } from "@shortened/client";

export type Job = Schemas["Job"];
export type JobState = Job["state"];
export type JobKind = Job["kind"];
export type JobEvent = Schemas["JobEvent"];
export type Version = Schemas["ModelVersion"];
export type Model = Schemas["Model"];
export type SharedModel = Schemas["SharedModel"];
export type Metric = Schemas["Metric"];
export type Artifact = Schemas["Artifact"];
export type Alias = Schemas["Alias"];
export type PromotionCheck = Schemas["RuleCheck"];
export type PromotionRule = Alias["rules"][number];
export type ApiKeyInfo = Schemas["ApiKey"];
export type Webhook = Schemas["Webhook"];

type Ok<T> = T extends { 200: { content: { "application/json": infer B } } } ? B : never;
/** GET /session: the team, the key and its role, and the CSRF token for writes. */
export type Session = Ok<paths["/session"]["get"]["responses"]>;
/** GET /v1/models/{id}/aliases/{alias}: the alias with its moves. */
export type AliasWithHistory = Ok<paths["/v1/models/{id}/aliases/{alias}"]["get"]["responses"]>;
export type Comparison = Ok<paths["/v1/metrics/compare"]["get"]["responses"]>;
export type AuditEvent = Ok<paths["/v1/audit"]["get"]["responses"]>["items"][number];

/** A structured progress event's data (the trainer's and evaluators' step reports). */
export type ProgressData = Extract<JobEvent["data"], { fraction: number }>;
export const isProgress = (d: JobEvent["data"]): d is ProgressData => typeof d.fraction === "number";
/** A named field of an event's data as text ("" when absent): a log event's `line`, a state's `reason`. */
export function eventText(e: JobEvent, field: string): string {
  const data: Record<string, unknown> = e.data;
  return data[field] === undefined || data[field] === null ? "" : String(data[field]);
}

export const JOB_STATES: JobState[] = ["queued", "running", "succeeded", "failed", "cancelled"];
export const JOB_KINDS: JobKind[] = [
  "importance",
  "prune",
  "retrain",
  "evaluate",
  "benchmark",
  "pipeline",
  "study",
];
export const isFinished = (s: JobState) => s === "succeeded" || s === "failed" || s === "cancelled";

/** A JSON value as an object of named values ({} when it is not an object). */
export function objectOf(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? { ...v } : {};
}

/** A job's result (null until it succeeds) as an object of named values. */
export const resultOf = (job: Job | undefined): Record<string, unknown> => objectOf(job?.result);
