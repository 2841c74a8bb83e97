// The OpenAPI paths and schemas of the service for teams (merged into openapi.ts's document), from the
// same zod schemas that validate the requests.
import * as c from "@shortened/contracts";
import { z } from "zod";

function schema(s: z.ZodType, io: "input" | "output" = "input"): Record<string, unknown> {
  const out = z.toJSONSchema(s, { target: "draft-2020-12", io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
}

const json = (s: unknown) => ({ content: { "application/json": { schema: s } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string, what: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
  description: what,
});
const id = (what: string) => param("id", what);
const alias = param("alias", "alias name, with or without @ (e.g. prod)");
const errors = (admin: boolean) => ({
  "400": { description: "bad input", ...json(ref("Error")) },
  "401": { description: "no key, or a bad or revoked key", ...json(ref("Error")) },
  ...(admin ? { "403": { description: "needs an admin key", ...json(ref("Error")) } } : {}),
  "404": { description: "not found (or another team's)", ...json(ref("Error")) },
  "429": { description: "rate limit of this key reached", ...json(ref("Error")) },
});
const op = (
  summary: string,
  tag: string,
  o: { admin?: boolean; extra?: Record<string, unknown>; responses?: Record<string, unknown> } = {},
) => ({
  summary: o.admin ? `${summary} (admin)` : summary,
  tags: [tag],
  security: [{ bearer: [] }],
  responses: { "200": { description: "ok" }, ...o.responses, ...errors(Boolean(o.admin)) },
  ...o.extra,
});
const queryParams = (s: z.ZodObject) =>
  Object.entries((schema(s).properties ?? {}) as Record<string, unknown>).map(([name, sch]) => ({
    name,
    in: "query",
    required: false,
    schema: sch,
  }));

export const teamSchemas = () => ({
  PromotionRule: schema(c.PromotionRule),
  SetAliasRules: schema(c.SetAliasRulesBody),
  MoveAlias: schema(c.MoveAliasBody),
  RotateKey: schema(c.RotateKeyBody),
  CreateWebhook: schema(c.CreateWebhookBody),
});

export function teamPaths(): Record<string, unknown> {
  return {
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        tags: ["ops"],
        responses: { "200": { description: "text exposition format" } },
      },
    },
    "/v1/keys/{id}/rotate": {
      post: op(
        "rotate a key: a new key (shown once), the old one revoked now or after graceSeconds",
        "teams",
        {
          admin: true,
          extra: { parameters: [id("key id")], requestBody: json(ref("RotateKey")) },
          responses: { "201": { description: "the new key" }, "409": { description: "already revoked" } },
        },
      ),
    },
    "/v1/audit": {
      get: op("the team's audit trail, newest first", "teams", {
        admin: true,
        extra: { parameters: queryParams(c.ListAuditQuery) },
      }),
    },
    "/v1/models/{id}/aliases": {
      get: op("aliases of a model", "registry", { extra: { parameters: [id("model id or name")] } }),
    },
    "/v1/models/{id}/aliases/{alias}": {
      get: op("an alias with its history", "registry", {
        extra: { parameters: [id("model id or name"), alias] },
      }),
      put: op(
        "move an alias to a version (refused with 422 promotion_refused when a rule breaks)",
        "registry",
        {
          extra: { parameters: [id("model id or name"), alias], requestBody: json(ref("MoveAlias")) },
          responses: {
            "422": {
              description: "a promotion rule is broken: the rules and numbers in details",
              ...json(ref("Error")),
            },
          },
        },
      ),
    },
    "/v1/models/{id}/aliases/{alias}/rules": {
      put: op("set the promotion rules of an alias", "registry", {
        admin: true,
        extra: { parameters: [id("model id or name"), alias], requestBody: json(ref("SetAliasRules")) },
      }),
    },
    "/v1/models/{id}/share": {
      put: op("share a model with the organisation", "registry", {
        admin: true,
        extra: { parameters: [id("model id or name")] },
      }),
      delete: op("stop sharing a model", "registry", {
        admin: true,
        extra: { parameters: [id("model id or name")] },
      }),
    },
    "/v1/shared/models": {
      get: op("models shared by every team", "registry", {
        extra: { parameters: queryParams(c.ListSharedQuery) },
      }),
    },
    "/v1/shared/models/{id}": {
      get: op("a shared model with its versions", "registry", { extra: { parameters: [id("model id")] } }),
    },
    "/v1/shared/versions/{id}/card": {
      get: op("the model card of a shared version", "registry", {
        extra: { parameters: [id("version id")] },
      }),
    },
    "/v1/versions/{id}/card": {
      get: op(
        "the model card of a version (JSON; Markdown with ?format=markdown or Accept: text/markdown)",
        "registry",
        {
          extra: {
            parameters: [
              id("version id"),
              { name: "format", in: "query", schema: { enum: ["json", "markdown"] } },
            ],
          },
        },
      ),
    },
    "/v1/jobs/{id}/stream": {
      get: op("job events as Server-Sent Events; resumes after Last-Event-ID", "jobs", {
        extra: {
          parameters: [
            id("job id"),
            { name: "Last-Event-ID", in: "header", schema: { type: "string" } },
            { name: "lastEventId", in: "query", schema: { type: "string" } },
          ],
        },
        responses: {
          "200": {
            description: "text/event-stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          "204": { description: "the job has finished and nothing follows Last-Event-ID" },
        },
      }),
    },
    "/v1/metrics/compare": {
      get: op("metrics of versions side by side, on equal protocols only", "metrics", {
        extra: { parameters: queryParams(c.CompareQuery) },
        responses: {
          "409": {
            description: "not comparable (different protocols): says which fields differ",
            ...json(ref("Error")),
          },
        },
      }),
    },
    "/v1/webhooks": {
      get: op("webhooks of the team (without secrets)", "webhooks", { admin: true }),
      post: op("register a webhook; the answer holds its signing secret, shown once", "webhooks", {
        admin: true,
        extra: { requestBody: json(ref("CreateWebhook")) },
        responses: { "201": { description: "created" } },
      }),
    },
    "/v1/webhooks/{id}": {
      delete: op("delete a webhook", "webhooks", { admin: true, extra: { parameters: [id("webhook id")] } }),
    },
    "/v1/webhooks/{id}/deliveries": {
      get: op("recent deliveries of a webhook", "webhooks", {
        admin: true,
        extra: { parameters: [id("webhook id")] },
      }),
    },
  };
}
