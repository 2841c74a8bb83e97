// `shortened serve`: reads the environment (DATABASE_URL, REDIS_URL, S3_ENDPOINT, S3_BUCKET, S3_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, PORT), applies pending migrations (MIGRATE_ON_START=0:
// refuse to start while some are pending, saying how to apply them), and serves the API.

import { hubDepsFromEnv, JobQueues, openPostgres, queueConfigFromEnv, S3Store } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import { OutputSweeper, QueueDispatcher, QueueRelay, relayOptionsFromEnv } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import { teamOptionsFromEnv } from "./deps.js";
import { LOG_REDACT } from "./plugins/request-log.js";
import { webOptionsFromEnv } from "./web/index.js";

export interface ApiServer {
  app: FastifyInstance;
  url: string;
  /** Moves the job outbox to the queue and reconciles the two (tests call it to skip the timers). */
  relay: QueueRelay;
  close(): Promise<void>;
}

export async function startApiServer(
  env: NodeJS.ProcessEnv = process.env,
  opts: { logger?: boolean; host?: string } = {},
): Promise<ApiServer> {
  if (!env.DATABASE_URL) throw new UserError("bad_request", "DATABASE_URL is not set");
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError("bad_request", `PORT must be 0..65535 (got ${env.PORT})`);
  const db = await openPostgres(env.DATABASE_URL, {
    migrate: env.MIGRATE_ON_START === "0" ? "check" : "apply",
  });
  const store = S3Store.fromEnv(env);
  await store.ensureBucket();
  const queues = new JobQueues(queueConfigFromEnv(env));
  // Jobs reach the queue through the outbox; open jobs the queue lost are dispatched again.
  const relay = new QueueRelay(db.prisma, queues, {
    ...relayOptionsFromEnv(env),
    sweeper: new OutputSweeper(db.prisma, store),
    log: (msg, extra) => app.log.warn({ ...extra }, msg),
  });
  const app = await buildApp(
    {
      db: db.prisma,
      store,
      dispatcher: new QueueDispatcher(relay),
      readiness: {
        database: () => db.prisma.$queryRaw`SELECT 1`,
        redis: () => queues.ping(),
        s3: () => store.check(),
      },
      uploadLimitBytes: Number(env.UPLOAD_LIMIT_BYTES ?? 50 * 1024 ** 3),
      bodyLimitBytes: Number(env.BODY_LIMIT_BYTES ?? 2 * 1024 * 1024),
      urlExpirySeconds: Number(env.URL_EXPIRY_SECONDS ?? 3600),
      hub: hubDepsFromEnv(env),
      modelSources: (env.MODEL_SOURCES ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      teams: { ...teamOptionsFromEnv(env), queueCounts: (kind) => queues.counts(kind) },
      web: webOptionsFromEnv(env),
    },
    {
      logger:
        (opts.logger ?? env.LOG_LEVEL !== "silent")
          ? { level: env.LOG_LEVEL ?? "info", redact: LOG_REDACT }
          : false,
    },
  );
  relay.start();
  const address = await app.listen({ port, host: opts.host ?? env.HOST ?? "0.0.0.0" });
  return {
    app,
    url: address,
    relay,
    async close() {
      await relay.close();
      await app.close();
      await queues.close();
      await db.close();
    },
  };
}
