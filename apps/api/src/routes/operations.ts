// Operations, no key: liveness (/healthz) and readiness (/readyz: database, queue, object store).
import { ErrorBody, Health, Readiness } from "@shortened/contracts";
import { z } from "zod";
import { errorBody } from "../errors.js";
import { json } from "../route-schema.js";
import { publicRoutes } from "./route-plugin.js";

const tags = ["operations"];
const NotReady = ErrorBody.extend({ checks: z.record(z.string(), z.string()) });

export const operationRoutes = publicRoutes("operations", (app, d) => {
  app.get(
    "/healthz",
    {
      schema: {
        operationId: "getHealth",
        summary: "liveness: the process answers",
        tags,
        response: { 200: json(Health, "alive") },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        operationId: "getReadiness",
        summary: "readiness: every dependency (database, queue, object store) answers",
        tags,
        response: {
          200: json(Readiness, "ready"),
          503: json(NotReady, "a dependency is failing; checks says which"),
        },
      },
    },
    async (_req, reply) => {
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
        ? { status: "ready" as const, checks }
        : reply.status(503).send({ ...errorBody("not_ready", "a dependency is failing"), checks });
    },
  );
});

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
