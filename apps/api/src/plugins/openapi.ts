// The OpenAPI 3.1 document, generated from the routes as they are registered (@fastify/swagger in dynamic
// mode): each route's zod schemas become its parameters, request body and answers (requests as zod's
// input JSON Schema, so fields with defaults are optional; answers as its output). The answer schemas below
// are named components; request schemas stay inline, so a client generator that treats a component's
// defaulted fields as present (openapi-typescript's default) still types requests right.
// Served at /openapi.json, with Swagger UI at /docs.
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import * as c from "@shortened/contracts";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { createJsonSchemaTransformObject, jsonSchemaTransform } from "fastify-type-provider-zod";
import type { OpenAPIV3_1 } from "openapi-types";
import { z } from "zod";

/** Named answer schemas (they must not appear inside request schemas: see above). */
const components: Record<string, z.ZodType> = {
  Error: c.ErrorBody,
  Job: c.Job,
  JobEvent: c.JobEvent,
  Model: c.Model,
  ModelVersion: c.ModelVersion,
  Artifact: c.Artifact,
  Metric: c.Metric,
  ApiKey: c.ApiKeyInfo,
  CreatedApiKey: c.CreatedApiKey,
  Alias: c.Alias,
  RuleCheck: c.RuleCheck,
  ModelCard: c.ModelCard,
  SharedModel: c.SharedModel,
  Webhook: c.Webhook,
};
for (const [id, schema] of Object.entries(components))
  z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });

const tags: OpenAPIV3_1.TagObject[] = [
  {
    name: "jobs",
    description: "submit, follow, cancel and retry jobs (importance, prune, retrain, evaluate, …)",
  },
  { name: "models", description: "the model registry: models, versions, lineage, files and metrics" },
  {
    name: "registry",
    description: "aliases with promotion rules, model cards, sharing with the organisation",
  },
  { name: "artifacts", description: "files produced by jobs, with presigned download URLs" },
  { name: "metrics", description: "measured values, each with its protocol, and comparisons" },
  { name: "teams", description: "the caller's team, its API keys and audit trail" },
  { name: "webhooks", description: "signed notifications of job state changes" },
  { name: "operations", description: "health, readiness and Prometheus metrics (no key)" },
];

export interface OpenApiOptions {
  version: string;
  securitySchemes: Record<string, OpenAPIV3_1.SecuritySchemeObject>;
}

const transformObject = createJsonSchemaTransformObject({});
const OPTIONAL_BODY = "x-optional-body";

export const openApi = fp<OpenApiOptions>(
  async (app, o) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: {
          title: "Shortened API",
          version: o.version,
          description:
            'Depth pruning and retraining of LLaMA-family models as a service. Authenticate with `Authorization: Bearer <key>`; every error has the shape `{"error": {"code", "message", "details"?}}`.',
        },
        servers: [{ url: "/", description: "the server that serves this document" }],
        tags,
        components: { securitySchemes: o.securitySchemes },
      },
      transform(doc) {
        const { schema, url } = jsonSchemaTransform(doc);
        const route = doc.route;
        const out: Record<string, unknown> = { ...schema, security: schema.security ?? [] };
        // A body that may be left out (all its fields have defaults) is not required.
        const body = route.schema?.body as z.ZodType | undefined;
        if (body?.safeParse(undefined).success) out[OPTIONAL_BODY] = true;
        if (route.config?.documentedBody) out.body = { content: route.config.documentedBody };
        return { schema: out, url };
      },
      transformObject(doc) {
        const document = transformObject(doc) as OpenAPIV3_1.Document;
        for (const path of Object.values(document.paths ?? {}))
          for (const op of Object.values(path ?? {}) as Record<string, unknown>[]) {
            if (!op || typeof op !== "object" || !(OPTIONAL_BODY in op)) continue;
            delete op[OPTIONAL_BODY];
            (op.requestBody as OpenAPIV3_1.RequestBodyObject).required = false;
          }
        return withoutUnusedComponents(document);
      },
    });
    await app.register(swaggerUi, { routePrefix: "/docs" });
    app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  },
  { name: "openapi" },
);

/** The registry holds every named schema, in an input and an output variant; keep those referenced. */
function withoutUnusedComponents(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = document.components?.schemas ?? {};
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) visit(v);
    else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) {
        if (k === "$ref" && typeof v === "string" && v.startsWith("#/components/schemas/")) {
          const name = v.slice("#/components/schemas/".length);
          if (!used.has(name)) {
            used.add(name);
            visit(schemas[name]);
          }
        } else visit(v);
      }
  };
  visit(document.paths);
  const kept = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return { ...document, components: { ...document.components, schemas: kept } };
}

/** The document of an app (after `ready`). */
export const openApiDocument = (app: FastifyInstance) => app.swagger() as OpenAPIV3_1.Document;
