// The API's JSON shapes as the dashboard reads them (the OpenAPI document's components).

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const JOB_STATES: JobState[] = ["queued", "running", "succeeded", "failed", "cancelled"];
export const JOB_KINDS = ["importance", "prune", "retrain", "evaluate", "benchmark", "pipeline"] as const;
export const isFinished = (s: JobState) => s === "succeeded" || s === "failed" || s === "cancelled";

export interface Job {
  id: string;
  kind: string;
  state: JobState;
  spec: Record<string, unknown>;
  inputVersionId: string | null;
  outputVersionId: string | null;
  parentJobId: string | null;
  reason: string | null;
  errorCode: string | null;
  progress: number;
  attempts: number;
  result: Record<string, unknown> | null;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ProgressData {
  fraction: number;
  message?: string;
  step?: number;
  totalSteps?: number;
  loss?: number;
  lr?: number;
  gradNorm?: number;
  tokensPerS?: number;
  etaS?: number;
  phase?: string;
}

export interface JobEvent {
  seq: string;
  type: "state" | "progress" | "log" | "metric" | "artifact";
  jobId?: string;
  data: Record<string, unknown>;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Version {
  id: string;
  modelId: string;
  number: number;
  kind: string;
  parentId: string | null;
  recipe: Record<string, unknown>;
  config: Record<string, unknown> | null;
  producedByJobId: string | null;
  createdAt: string;
}

export interface Model {
  id: string;
  name: string;
  description: string | null;
  sourceUri: string | null;
  license: string | null;
  config: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
  latestVersion?: Version | null;
}

export interface Metric {
  id: string;
  versionId: string;
  jobId: string | null;
  name: string;
  value: number;
  protocol: Record<string, unknown>;
  protocolHash: string;
  createdAt: string;
}

export interface Artifact {
  id: string;
  name: string;
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  jobId: string | null;
  versionId: string | null;
  createdAt: string;
}

export interface PromotionCheck {
  rule: Record<string, unknown>;
  passed: boolean;
  message: string;
}

export interface Alias {
  id: string;
  name: string;
  modelId: string;
  versionId: string | null;
  rules: Record<string, unknown>[];
  updatedAt: string | null;
  history?: {
    id: string;
    fromVersionId: string | null;
    toVersionId: string;
    actorKeyId: string | null;
    checks: PromotionCheck[];
    createdAt: string;
  }[];
}

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  role: "admin" | "member";
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Session {
  team: { id: string; name: string };
  key: { id: string; name: string; prefix: string };
  role: "admin" | "member";
  csrfToken: string;
}
