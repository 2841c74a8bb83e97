// The REST API (fastify 5): /v1 behind Bearer keys, /healthz, /readyz, /openapi.json and /docs open.

import multipart from "@fastify/multipart";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { installAuth } from "./auth.js";
import { errorBody, installErrorHandling } from "./errors.js";
import { openApiDocument } from "./openapi.js";
import type { ApiDeps } from "./routes/context.js";
import { jobRoutes } from "./routes/jobs.js";
import { modelRoutes } from "./routes/models.js";
import { outputRoutes } from "./routes/outputs.js";
import { teamRoutes } from "./routes/teams.js";
import { installTeamFeatures } from "./teams-features.js";
import { installWeb } from "./web/index.js";

export { ADMIN_ROUTES } from "./roles.js";
export { routeTable } from "./route-table.js";
export type { ApiDeps } from "./routes/context.js";
export { defaultTeamOptions, type TeamOptions, teamOptionsFromEnv } from "./teams-features.js";
export { type WebOptions, webOptionsFromEnv } from "./web/index.js";

export async function buildApp(
  d: ApiDeps,
  opts: { logger?: FastifyServerOptions["logger"] } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: d.bodyLimitBytes });
  installErrorHandling(app);
  // A tar upload is streamed to the handler, not buffered.
  app.addContentTypeParser("application/x-tar", (_req, payload, done) => done(null, payload));
  await app.register(multipart, { limits: { fileSize: d.uploadLimitBytes } });
  const document = openApiDocument();
  await app.register(swagger, { mode: "static", specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: "/docs" });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const checks: Record<string, string> = {};
    let ok = true;
    for (const [name, check] of Object.entries(d.readiness)) {
      try {
        await withTimeout(check(), 2000);
        checks[name] = "ok";
      } catch (e) {
        ok = false;
        checks[name] = `failing: ${(e as Error).message}`.slice(0, 200);
      }
    }
    return ok
      ? { status: "ready", checks }
      : reply.status(503).send({ ...errorBody("not_ready", "a dependency is failing"), checks });
  });
  app.get("/openapi.json", async () => document);

  await installWeb(app, d);
  installAuth(app, d.db);
  await installTeamFeatures(app, d);
  teamRoutes(app, d);
  modelRoutes(app, d);
  jobRoutes(app, d);
  outputRoutes(app, d);
  return app;
}

/** A dependency that does not answer in time is failing (a Redis client waits for a reconnect otherwise). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
