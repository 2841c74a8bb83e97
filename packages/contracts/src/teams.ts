// Request schemas of the service for teams: key rotation, registry aliases and their promotion rules,
// webhooks, comparisons, the audit trail and the shared-model catalogue. Used for API validation and the
// OpenAPI document, like resources.ts.
import { z } from "zod";
import { JobState } from "./jobs.js";
import { PageCursor } from "./resources.js";

export const AliasName = z
  .string()
  .regex(/^@?[a-z][a-z0-9-]{0,39}$/, "an alias is lowercase letters, digits and '-', like @prod")
  .transform((s) => s.replace(/^@/, ""));

const against = z
  .enum(["parent", "base"])
  .default("parent")
  .describe("compare with the version's parent, or with the base version of its lineage");

/**
 * A promotion rule: a version moves to the alias only if it passes every rule of the alias, on metrics
 * measured with the same protocol for the version and the version it is compared with.
 */
export const PromotionRule = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("max_metric_increase"),
      metric: z.string().min(1).max(100).describe("e.g. ppl_wikitext2"),
      max: z.number().min(0).describe("largest allowed increase (absolute, or a fraction when relative)"),
      relative: z.boolean().default(false),
      against,
    })
    .strict(),
  z
    .object({
      type: z.literal("min_speedup"),
      batch: z.int().min(1).default(1).describe("benchmark batch size whose latency is compared"),
      min: z.number().positive().describe("smallest allowed reference latency / version latency"),
      against,
    })
    .strict(),
]);
export type PromotionRule = z.infer<typeof PromotionRule>;

export const SetAliasRulesBody = z.object({ rules: z.array(PromotionRule).max(20) }).strict();
export const MoveAliasBody = z
  .object({
    version: z
      .union([z.string().min(1).max(200), z.int().min(1)])
      .describe("a version id of this model, or its version number"),
  })
  .strict();

export const RotateKeyBody = z
  .object({
    graceSeconds: z
      .int()
      .min(0)
      .max(24 * 3600)
      .default(0)
      .describe("keep the old key working this long (0: revoke it now)"),
  })
  .strict();

export const CreateWebhookBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .describe("receives POSTs signed with HMAC-SHA256"),
    states: z.array(JobState).max(5).default([]).describe("job states to send (empty: every change)"),
  })
  .strict();

export const CompareQuery = z
  .object({
    versions: z
      .string()
      .min(1)
      .describe("comma-separated version references (ids, name@N, name@alias)")
      .transform((s) =>
        s
          .split(",")
          .map((v) => v.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(2, "give at least two versions").max(20)),
    metric: z.string().max(100).optional().describe("only this metric (refused if not comparable)"),
  })
  .strict();

export const ListAuditQuery = z
  .object({
    action: z.string().max(100).optional(),
    cursor: PageCursor.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const ListSharedQuery = z
  .object({
    cursor: PageCursor.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const AddModelSourceBody = z
  .object({
    uri: z
      .string()
      .max(1024)
      .regex(
        /^(s3:\/\/[^/]+|hf:\/\/)/,
        "an s3://bucket or s3://bucket/prefix URI, or hf://, hf://org/ or hf://org/name",
      )
      .describe(
        "models may then be registered from this bucket or prefix, or from these Hugging Face Hub repositories",
      ),
  })
  .strict();
export const ModelSource = z.object({
  id: z.string(),
  uri: z.string().describe("s3://bucket/prefix/, or hf://, hf://org/ or hf://org/name/"),
  createdAt: z.string(),
});
export const ModelSourceList = z.object({
  items: z.array(ModelSource).describe("this team's sources, added by its admins"),
  operator: z.array(z.string()).describe("sources the operator allows for every team (MODEL_SOURCES)"),
});

// ---- Team secrets (Hub tokens): written once, never read back.
export const TeamSecretName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "a-z, 0-9, _ and -, up to 64 characters")
  .describe("the secret's name, e.g. hf-token");
export const TeamSecretParams = z.object({ name: TeamSecretName }).strict();
export const PutTeamSecretBody = z
  .object({
    value: z
      .string()
      .min(1)
      .max(4096)
      .describe("the secret (a Hugging Face Hub token: hf_...); never shown again"),
  })
  .strict();
export const TeamSecret = z.object({
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const TeamSecretList = z.object({
  items: z.array(TeamSecret).describe("names and dates only, never values"),
});
