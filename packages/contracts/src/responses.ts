// What the REST API answers, one zod schema per answer: the routes serialize through them (so an answer
// never drifts from its schema) and the OpenAPI document shows them. Request schemas are in
// resources.ts, teams.ts and jobs.ts.
import { z } from "zod";
import { JobState } from "./jobs.js";
import {
  ApiKeyInfo,
  Artifact,
  CreatedApiKey,
  Job,
  JobEvent,
  Metric,
  Model,
  ModelVersion,
} from "./resources.js";
import { PromotionRule } from "./teams.js";

const at = z.string().describe("ISO 8601 time");
const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last"),
  });

export const TeamInfo = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: at,
  role: z.enum(["admin", "member"]).describe("the role of the calling key"),
});
export const ApiKeyList = list(ApiKeyInfo);
export const RotatedApiKey = CreatedApiKey.extend({ retired: ApiKeyInfo.describe("the rotated key") });

export const ModelPage = page(Model);
export const VersionList = list(ModelVersion);
export const Lineage = z.object({
  version: ModelVersion,
  ancestors: z.array(ModelVersion).describe("parent first, base last"),
  children: z.array(ModelVersion),
});
export const ArtifactList = list(Artifact);
export const ArtifactUrl = z.object({ url: z.string(), expiresAt: at, artifact: Artifact });
export const MetricList = list(Metric);

export const JobPage = page(Job);
export const JobEventPage = page(JobEvent);

export const RuleCheck = z.object({
  rule: PromotionRule,
  passed: z.boolean(),
  message: z.string(),
  versionId: z.string(),
  referenceVersionId: z.string().nullable(),
  protocol: z.unknown().optional(),
  value: z.number().optional(),
  reference: z.number().optional(),
  observed: z.number().optional(),
  limit: z.number(),
});
export const Alias = z.object({
  id: z.string(),
  name: z.string().describe("with its @, e.g. @prod"),
  modelId: z.string(),
  versionId: z.string().nullable().describe("null until the alias is first moved"),
  rules: z.array(PromotionRule),
  updatedAt: at,
});
export const AliasList = list(Alias);
export const AliasWithHistory = Alias.extend({
  history: z.array(
    z.object({
      id: z.string(),
      fromVersionId: z.string().nullable(),
      toVersionId: z.string(),
      actorKeyId: z.string().nullable(),
      checks: z.array(RuleCheck).describe("the promotion rules checked for this move"),
      createdAt: at,
    }),
  ),
});
export const MovedAlias = Alias.extend({
  move: z.object({
    id: z.string(),
    fromVersionId: z.string().nullable(),
    toVersionId: z.string(),
    checks: z.array(RuleCheck),
  }),
});

export const ModelCard = z.object({
  model: z.object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    sourceUri: z.string().nullable(),
  }),
  version: z.object({ id: z.string(), number: z.int(), kind: z.string(), createdAt: at }),
  license: z.object({
    id: z.string().nullable(),
    inheritedFrom: z.string().nullable().describe("the base version whose license this is"),
    note: z.string(),
  }),
  architecture: z.record(z.string(), z.unknown()),
  recipe: z.record(z.string(), z.unknown()),
  training: z.record(z.string(), z.unknown()).nullable(),
  producedBy: z.object({ jobId: z.string(), kind: z.string(), spec: z.unknown() }).nullable(),
  lineage: z.array(z.object({ id: z.string(), number: z.int(), kind: z.string(), summary: z.string() })),
  metrics: z.array(
    z.object({ name: z.string(), value: z.number(), protocol: z.unknown(), protocolSummary: z.string() }),
  ),
  aliases: z.array(z.string()),
});

export const SharedModel = Model.extend({
  team: z.string().describe("the owning team's name"),
  sharedAt: at.nullable(),
});
export const SharedModelPage = page(SharedModel);
export const SharedModelWithVersions = SharedModel.extend({ versions: z.array(ModelVersion) });
export const ShareState = Model.extend({ shared: z.boolean() });

export const Comparison = z.object({
  versions: z.array(z.object({ id: z.string(), label: z.string().describe("name@number") })),
  rows: z.array(
    z.object({
      name: z.string(),
      protocolHash: z.string(),
      protocol: z.unknown(),
      values: z.record(z.string(), z.number()).describe("value per version id"),
    }),
  ),
  notComparable: z.array(z.object({ name: z.string(), reason: z.string() })),
});

export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  states: z.array(JobState),
  active: z.boolean(),
  createdAt: at,
});
export const CreatedWebhook = Webhook.extend({
  secret: z.string().describe("signing secret, shown once"),
});
export const WebhookList = list(Webhook);
export const WebhookDeliveryList = list(
  z.object({
    id: z.string(),
    jobId: z.string(),
    eventSeq: z.string(),
    state: z.string(),
    attempts: z.int(),
    lastStatus: z.int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: at.nullable(),
    deliveredAt: at.nullable(),
    payload: z.unknown(),
  }),
);

export const AuditPage = page(
  z.object({
    id: z.string(),
    action: z.string(),
    actorKeyId: z.string().nullable(),
    targetType: z.string(),
    targetId: z.string().nullable(),
    data: z.unknown(),
    createdAt: at,
  }),
);

export const Health = z.object({ status: z.literal("ok") });
export const Readiness = z.object({
  status: z.literal("ready"),
  checks: z.record(z.string(), z.string()).describe("each dependency: ok, or failing with the reason"),
});
