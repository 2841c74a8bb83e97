// The REST API (fastify 5), built from plugins whose order is checked by their declared dependencies:
// at the root, request parsing, the OpenAPI document (/openapi.json, /docs), Prometheus metrics and the
// public operations routes; under /v1, the auth plugin and everything that needs a caller (rate limits,
// log context, ETags, the audit trail), then one plugin per resource.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { type ApiDeps, teamOptions } from "./deps.js";
import { frameworkErrorOptions, installErrorHandling } from "./errors.js";
import { auditTrail } from "./plugins/audit.js";
import { apiKeySource, auth, type CredentialSource } from "./plugins/auth.js";
import { etags } from "./plugins/etag.js";
import { prometheusMetrics } from "./plugins/metrics.js";
import { openApi } from "./plugins/openapi.js";
import { keyRateLimit } from "./plugins/rate-limit.js";
import { logContext } from "./plugins/request-log.js";
import { requestParsing } from "./plugins/request-parsing.js";
import { routeTableCollector } from "./plugins/route-table.js";
import { aliasRoutes } from "./routes/aliases.js";
import { artifactRoutes } from "./routes/artifacts.js";
import { auditRoutes } from "./routes/audit.js";
import { jobStreamRoutes } from "./routes/job-stream.js";
import { jobRoutes } from "./routes/jobs.js";
import { metricRoutes } from "./routes/metrics.js";
import { modelSourceRoutes } from "./routes/model-sources.js";
import { modelRoutes } from "./routes/models.js";
import { operationRoutes } from "./routes/operations.js";
import { sharingRoutes } from "./routes/sharing.js";
import { teamSecretRoutes } from "./routes/team-secrets.js";
import { teamRoutes } from "./routes/teams.js";
import { versionRoutes } from "./routes/versions.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { sessionCookieSource, webRoutes } from "./web/index.js";
import { WebhookDeliverer } from "./webhook-deliverer.js";

export type { ApiDeps, TeamOptions } from "./deps.js";
export { defaultTeamOptions, teamOptionsFromEnv } from "./deps.js";
export { openApiDocument } from "./plugins/openapi.js";
export { type RouteEntry, routeTable } from "./plugins/route-table.js";
export { type WebOptions, webOptionsFromEnv } from "./web/index.js";

const API_VERSION = "0.1.0";

export async function buildApp(
  d: ApiDeps,
  opts: { logger?: FastifyServerOptions["logger"] } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: d.bodyLimitBytes,
    ...frameworkErrorOptions,
  });
  const o = teamOptions(d);
  // Who a caller is: an API key (which wins), else a dashboard session cookie (web/sessions.ts).
  const sources: CredentialSource[] = [apiKeySource(d.db), sessionCookieSource(d.db)];

  installErrorHandling(app);
  await app.register(routeTableCollector);
  await app.register(requestParsing, { uploadLimitBytes: d.uploadLimitBytes });
  await app.register(openApi, {
    version: API_VERSION,
    securitySchemes: Object.fromEntries(sources.map((s) => [s.scheme.name, s.scheme.definition])),
  });
  await app.register(prometheusMetrics, { db: d.db, queueCounts: o.queueCounts });
  await app.register(operationRoutes, d);
  await app.register(webRoutes, d);

  await app.register(
    async (v1) => {
      await v1.register(auth, { sources });
      if (o.rateLimit) await v1.register(keyRateLimit, { limit: o.rateLimit });
      await v1.register(logContext);
      await v1.register(etags);
      await v1.register(auditTrail, { db: d.db });
      for (const routes of [
        teamRoutes,
        modelSourceRoutes,
        teamSecretRoutes,
        modelRoutes,
        versionRoutes,
        aliasRoutes,
        sharingRoutes,
        jobRoutes,
        jobStreamRoutes,
        artifactRoutes,
        metricRoutes,
        webhookRoutes,
        auditRoutes,
      ])
        await v1.register(routes, d);
    },
    { prefix: "/v1" },
  );

  if (o.webhooks) {
    const deliverer = new WebhookDeliverer(d.db, o.webhooks, o.destinations, app.log);
    app.addHook("onReady", async () => deliverer.start());
    app.addHook("onClose", async () => deliverer.stop());
  }
  return app;
}
