// What the REST API returns and accepts besides job specs: one zod schema per resource, used for
// request validation and for the OpenAPI document (z.toJSONSchema), and as TypeScript types by clients.
import { z } from "zod";
import { JobKind, JobState, PushSpec } from "./jobs.js";

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe("stable machine-readable code, e.g. bad_request, not_found, unauthorized"),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .describe("every error response has this shape");
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Team = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });
export const CreatedTeam = z.object({
  teamId: z.string(),
  apiKey: z.string().describe("shown once; stored hashed"),
});
export const ApiKeyInfo = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  role: z.enum(["admin", "member"]),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const CreateApiKeyBody = z
  .object({
    name: z.string().min(1).max(100).default("default"),
    role: z
      .enum(["admin", "member"])
      .default("admin")
      .describe("member keys cannot manage keys, sharing, rules, webhooks"),
  })
  .strict();
export const CreatedApiKey = ApiKeyInfo.extend({ apiKey: z.string().describe("shown once; stored hashed") });

export const ModelName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    "letters, digits, '.', '_' and '-' (at most 100), starting alnum",
  );

export const RegisterModelBody = z
  .object({
    name: ModelName,
    uri: z
      .string()
      .max(1024)
      .regex(
        /^(s3:\/\/[^/]+\/.*|hf:\/\/[^/@]+\/[^/@]+(@.+)?)$/,
        "an s3://bucket/prefix or hf://org/name@revision URI",
      )
      .describe(
        "folder holding an HF checkpoint (s3://bucket/prefix), or a model on the Hugging Face Hub (hf://org/name@revision; the revision is resolved to a commit and recorded)",
      ),
    tokenSecret: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .optional()
      .describe("hf:// only: the team secret holding the Hub token for a private or gated repository"),
    description: z.string().max(2000).optional(),
    license: z.string().max(200).optional(),
  })
  .strict();
export type RegisterModelBody = z.infer<typeof RegisterModelBody>;

export const ModelVersion = z.object({
  id: z.string(),
  modelId: z.string(),
  number: z.int(),
  kind: z.enum(["base", "pruned", "retrained", "merged", "quantized"]),
  parentId: z.string().nullable(),
  recipe: z.record(z.string(), z.unknown()),
  config: z.record(z.string(), z.unknown()).nullable(),
  producedByJobId: z.string().nullable(),
  createdAt: z.string(),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

export const Model = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  sourceUri: z.string().nullable(),
  license: z.string().nullable(),
  config: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  latestVersion: ModelVersion.nullable().optional(),
});
export type Model = z.infer<typeof Model>;

export const Job = z.object({
  id: z.string(),
  kind: JobKind,
  state: JobState,
  spec: z.record(z.string(), z.unknown()),
  inputVersionId: z.string().nullable(),
  outputVersionId: z.string().nullable(),
  parentJobId: z.string().nullable(),
  reason: z.string().nullable().describe("why it failed or was cancelled"),
  errorCode: z.string().nullable(),
  progress: z.number(),
  attempts: z.int().describe("attempts started (retries after errors and restarts after preemptions)"),
  preemptions: z
    .int()
    .describe("attempts that ended because their worker stopped (killed, drained, SIGTERM), not by an error"),
  result: z.unknown().describe("what the job produced (null until it succeeds)"),
  cancelRequested: z.boolean().describe("a cancel was asked for; a running job stops within seconds"),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof Job>;

/** The data of a `progress` event: the job's fraction, and where its trainer or evaluator is. */
export const ProgressData = z.object({
  fraction: z.number().min(0).max(1),
  message: z.string().optional(),
  step: z.int().optional(),
  totalSteps: z.int().optional(),
  loss: z.number().optional().describe("training: the step's mean loss"),
  lr: z.number().optional().describe("training: the step's learning rate"),
  gradNorm: z.number().optional().describe("training: global gradient norm before clipping"),
  kdLoss: z
    .number()
    .optional()
    .describe("distillation: the step's τ²·mean KL(teacher ‖ student) (loss = α·kdLoss + (1 − α)·ceLoss)"),
  ceLoss: z.number().optional().describe("distillation: the step's mean next-token cross-entropy"),
  tokensPerS: z.number().optional().describe("training: tokens per second of the step"),
  etaS: z.number().optional().describe("seconds left in this phase (the worker's estimate)"),
  phase: z.string().optional(),
  text: z
    .string()
    .optional()
    .describe("generation: the text so far (first prompt, first sample), streamed as it is generated"),
  ttftS: z.number().optional().describe("generation: seconds from the start of decoding to the first token"),
});
export type ProgressData = z.infer<typeof ProgressData>;

export const JobEvent = z.object({
  seq: z.string().describe("cursor: pass as ?after= to get later events"),
  type: z.enum(["state", "progress", "log", "metric", "artifact"]),
  jobId: z
    .string()
    .describe("the job that wrote it: a pipeline's stream also carries its steps' events")
    .optional(),
  data: z
    .union([ProgressData, z.record(z.string(), z.unknown())])
    .describe("for `progress`: ProgressData; `state`: {state, ...}; `log`: {line}"),
  createdAt: z.string(),
});
export type JobEvent = z.infer<typeof JobEvent>;

export const Artifact = z.object({
  id: z.string(),
  name: z.string(),
  key: z.string(),
  size: z.number(),
  sha256: z.string(),
  contentType: z.string(),
  jobId: z.string().nullable(),
  versionId: z.string().nullable(),
  createdAt: z.string(),
});
export type Artifact = z.infer<typeof Artifact>;

export const Metric = z.object({
  id: z.string(),
  versionId: z.string(),
  jobId: z.string().nullable(),
  name: z.string(),
  value: z.number(),
  protocol: z.record(z.string(), z.unknown()),
  protocolHash: z.string(),
  createdAt: z.string(),
});
export type Metric = z.infer<typeof Metric>;

const limit = z.coerce.number().int().min(1).max(200).default(50);
const iso = z.iso.datetime({ offset: true });

/** A page cursor: the `nextCursor` of the previous page (an id); anything else is refused, not ignored. */
export const PageCursor = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    "a cursor is the nextCursor of a previous page",
  )
  .describe("nextCursor of the previous page");

/** An event cursor (a job event's seq): digits, at most the largest seq the database can hold. */
export const EventSeq = z
  .string()
  .regex(/^\d{1,19}$/, "an event seq is 1 to 19 digits")
  .refine(
    (s) => !/^\d{1,19}$/.test(s) || BigInt(s) <= 9223372036854775807n,
    "an event seq is at most 9223372036854775807",
  );

export const ListJobsQuery = z
  .object({
    state: JobState.optional(),
    kind: JobKind.optional(),
    model: z.string().optional().describe("model id: jobs whose input is a version of it"),
    updatedSince: iso.optional(),
    parentJobId: z.string().optional(),
    cursor: PageCursor.optional(),
    limit,
  })
  .strict();
export const ListModelsQuery = z
  .object({
    q: z.string().max(200).optional().describe("substring of the name or description"),
    architecture: z.string().optional(),
    updatedSince: iso.optional(),
    cursor: PageCursor.optional(),
    limit,
  })
  .strict();
export const ListEventsQuery = z
  .object({
    after: EventSeq.optional().describe("only events after this seq"),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
    steps: z
      .enum(["true", "false"])
      .transform((v) => v === "true")
      .optional()
      .describe("a pipeline's events and its steps' events, in one order"),
  })
  .strict();

export const UploadModelQuery = z
  .object({
    name: ModelName,
    description: z.string().max(2000).optional(),
    license: z.string().max(200).optional().describe("e.g. an SPDX id; every derived version carries it"),
  })
  .strict();
export const ListMetricsQuery = z
  .object({ versionId: z.string().optional(), jobId: z.string().optional(), name: z.string().optional() })
  .strict();
export const ArtifactUrlQuery = z
  .object({
    expires: z.coerce
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional()
      .describe("lifetime of the URL in seconds (default: the server's URL_EXPIRY_SECONDS)"),
  })
  .strict();
export const CardQuery = z
  .object({
    format: z
      .enum(["json", "markdown"])
      .optional()
      .describe("markdown: the card as Markdown (or Accept: text/markdown)"),
  })
  .strict();
export const StreamQuery = z
  .object({
    lastEventId: EventSeq.optional().describe("resume after this event (as the Last-Event-ID header)"),
  })
  .strict();

/** POST /v1/versions/{id}/push: publish a version to the Hugging Face Hub (a push job; its result is the commit). */
export const PushVersionBody = PushSpec.pick({ repo: true, private: true })
  .extend({
    tokenSecret: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .describe("the team secret holding a Hub token with write access"),
  })
  .strict();
/** A push job's result. */
export const PushResult = z.object({
  repo: z.string(),
  commit: z
    .string()
    .describe("the commit holding the version (made by this push, or an earlier one with the same files)"),
  url: z.string(),
  files: z.array(z.string()),
  private: z.boolean(),
  committed: z.boolean().describe("false when the repository already held exactly these files (a retry)"),
});
export type PushResult = z.infer<typeof PushResult>;
