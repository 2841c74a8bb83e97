// The OpenAPI 3.1 document, generated from the same zod schemas that validate requests (z.toJSONSchema
// emits JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect).

import * as c from "@shortened/contracts";
import { z } from "zod";
import { teamPaths, teamSchemas } from "./openapi-teams.js";

function schema(s: z.ZodType, io: "input" | "output" = "output"): Record<string, unknown> {
  const out = z.toJSONSchema(s, { target: "draft-2020-12", io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: unknown) => ({ content: { "application/json": { schema: s } } });
const page = (name: string) => ({
  type: "object",
  properties: { items: { type: "array", items: ref(name) }, nextCursor: { type: ["string", "null"] } },
  required: ["items", "nextCursor"],
});
const errors = {
  "400": { description: "bad input", ...json(ref("Error")) },
  "401": { description: "no key, or a bad or revoked key", ...json(ref("Error")) },
  "404": { description: "not found (or another team's)", ...json(ref("Error")) },
};
const idParam = (what: string) => ({
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string" },
  description: what,
});
const queryParams = (s: z.ZodObject) =>
  Object.entries((schema(s, "input").properties ?? {}) as Record<string, unknown>).map(([name, sch]) => ({
    name,
    in: "query",
    required: false,
    schema: sch,
  }));

function op(
  summary: string,
  tag: string,
  extra: Record<string, unknown> = {},
  ok: unknown = { description: "ok" },
) {
  return { summary, tags: [tag], security: [{ bearer: [] }], responses: { "200": ok, ...errors }, ...extra };
}

export function openApiDocument(version = "0.1.0"): Record<string, unknown> {
  const jobSpecs = Object.fromEntries(
    Object.entries(c.jobSpecByKind).map(([k, s]) => [
      `${k[0].toUpperCase()}${k.slice(1)}Spec`,
      schema(s, "input"),
    ]),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "Shortened API",
      version,
      description:
        'Depth pruning and retraining of LLaMA-family models as a service. Authenticate with `Authorization: Bearer <key>`; every error has the shape `{"error": {"code", "message"}}`.',
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: schema(c.ErrorBody),
        JobSpec: schema(c.JobSpec, "input"),
        ...jobSpecs,
        Job: schema(c.Job),
        JobEvent: schema(c.JobEvent),
        Model: schema(c.Model),
        ModelVersion: schema(c.ModelVersion),
        RegisterModel: schema(c.RegisterModelBody, "input"),
        Artifact: schema(c.Artifact),
        Metric: schema(c.Metric),
        ApiKey: schema(c.ApiKeyInfo),
        CreatedApiKey: schema(c.CreatedApiKey),
        ...teamSchemas(),
      },
    },
    paths: {
      "/healthz": {
        get: { summary: "liveness", tags: ["ops"], responses: { "200": { description: "alive" } } },
      },
      "/readyz": {
        get: {
          summary: "readiness (database, queue, object store)",
          tags: ["ops"],
          responses: { "200": { description: "ready" }, "503": { description: "not ready" } },
        },
      },
      "/v1/team": { get: op("the caller's team", "teams") },
      "/v1/keys": {
        get: op("list API keys", "teams", {}, { description: "keys", ...json(page("ApiKey")) }),
        post: op(
          "create an API key (shown once)",
          "teams",
          { requestBody: json({ type: "object", properties: { name: { type: "string" } } }) },
          { description: "created", ...json(ref("CreatedApiKey")) },
        ),
      },
      "/v1/keys/{id}": { delete: op("revoke an API key", "teams", { parameters: [idParam("key id")] }) },
      "/v1/models": {
        get: op(
          "list models (search and filters)",
          "models",
          { parameters: queryParams(c.ListModelsQuery) },
          { description: "a page of models", ...json(page("Model")) },
        ),
        post: op(
          "register a base model by s3:// URI",
          "models",
          { requestBody: json(ref("RegisterModel")) },
          { description: "created", ...json(ref("Model")) },
        ),
      },
      "/v1/models/upload": {
        post: op(
          "register a base model by upload: application/x-tar, or multipart/form-data file parts",
          "models",
          {
            parameters: [{ name: "name", in: "query", required: true, schema: { type: "string" } }],
            requestBody: {
              content: {
                "application/x-tar": { schema: { type: "string", format: "binary" } },
                "multipart/form-data": { schema: { type: "object" } },
              },
            },
          },
        ),
      },
      "/v1/models/{id}": {
        get: op(
          "a model (id or name) with its latest version",
          "models",
          { parameters: [idParam("model id or name")] },
          { description: "model", ...json(ref("Model")) },
        ),
      },
      "/v1/models/{id}/versions": {
        get: op("versions of a model", "models", { parameters: [idParam("model id or name")] }),
      },
      "/v1/versions/{id}": {
        get: op(
          "a model version",
          "models",
          { parameters: [idParam("version id")] },
          { description: "version", ...json(ref("ModelVersion")) },
        ),
      },
      "/v1/versions/{id}/lineage": {
        get: op("ancestors and children of a version", "models", { parameters: [idParam("version id")] }),
      },
      "/v1/versions/{id}/artifacts": {
        get: op("files of a version", "models", { parameters: [idParam("version id")] }),
      },
      "/v1/versions/{id}/metrics": {
        get: op("metrics of a version, each with its protocol", "models", {
          parameters: [idParam("version id")],
        }),
      },
      "/v1/jobs": {
        get: op(
          "list jobs (filters, cursor pagination)",
          "jobs",
          { parameters: queryParams(c.ListJobsQuery) },
          { description: "a page of jobs", ...json(page("Job")) },
        ),
        post: {
          ...op(
            "submit a job; a repeated Idempotency-Key returns the first job (200)",
            "jobs",
            {
              parameters: [
                {
                  name: "Idempotency-Key",
                  in: "header",
                  required: false,
                  schema: { type: "string", maxLength: 200 },
                },
              ],
              requestBody: json(ref("JobSpec")),
            },
            { description: "the existing job (repeated Idempotency-Key)", ...json(ref("Job")) },
          ),
          responses: {
            "201": { description: "created", ...json(ref("Job")) },
            "200": { description: "repeat of an Idempotency-Key", ...json(ref("Job")) },
            ...errors,
            "422": { description: "kind not available", ...json(ref("Error")) },
          },
        },
      },
      "/v1/jobs/{id}": {
        get: op(
          "a job",
          "jobs",
          { parameters: [idParam("job id")] },
          { description: "job", ...json(ref("Job")) },
        ),
      },
      "/v1/jobs/{id}/cancel": {
        post: op("cancel a job (running jobs stop within seconds)", "jobs", {
          parameters: [idParam("job id")],
        }),
      },
      "/v1/jobs/{id}/retry": {
        post: op("retry a failed or cancelled job", "jobs", { parameters: [idParam("job id")] }),
      },
      "/v1/jobs/{id}/events": {
        get: op(
          "progress, log lines, metrics and state changes after a cursor",
          "jobs",
          { parameters: [idParam("job id"), ...queryParams(c.ListEventsQuery)] },
          { description: "events", ...json(page("JobEvent")) },
        ),
      },
      "/v1/jobs/{id}/artifacts": {
        get: op("artifacts of a job", "jobs", { parameters: [idParam("job id")] }),
      },
      "/v1/jobs/{id}/metrics": { get: op("metrics of a job", "jobs", { parameters: [idParam("job id")] }) },
      "/v1/artifacts/{id}": {
        get: op(
          "an artifact",
          "artifacts",
          { parameters: [idParam("artifact id")] },
          { description: "artifact", ...json(ref("Artifact")) },
        ),
      },
      "/v1/artifacts/{id}/url": {
        get: op("a presigned download URL", "artifacts", {
          parameters: [idParam("artifact id"), { name: "expires", in: "query", schema: { type: "integer" } }],
        }),
      },
      "/v1/metrics": {
        get: op("metrics by version, job or name", "metrics", {
          parameters: ["versionId", "jobId", "name"].map((n) => ({
            name: n,
            in: "query",
            schema: { type: "string" },
          })),
        }),
      },
      ...teamPaths(),
    },
  };
}
