// The service for teams, installed into the core app: route table, roles, rate limits, per-request log
// context, ETags, the audit trail, Prometheus metrics, SSE job events, key rotation, aliases and
// promotion rules, model cards, sharing, comparisons, webhooks (and their delivery loop).
import type { FastifyInstance } from "fastify";
import { installAuditHook } from "./audit-hook.js";
import { installEtags } from "./etag.js";
import { installMetrics, type QueueCounts } from "./metrics.js";
import { installRateLimit, type RateLimitOptions } from "./rate-limit.js";
import { installLogContext } from "./request-log.js";
import { installRoles } from "./roles.js";
import { collectRoutes } from "./route-table.js";
import { aliasRoutes } from "./routes/aliases.js";
import { auditRoutes } from "./routes/audit.js";
import { cardRoutes } from "./routes/cards.js";
import { compareRoutes } from "./routes/compare.js";
import type { ApiDeps } from "./routes/context.js";
import { keyRotationRoutes } from "./routes/key-rotation.js";
import { sharingRoutes } from "./routes/sharing.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { type SseOptions, sseRoutes } from "./sse.js";
import { WebhookDeliverer, type WebhookOptions } from "./webhook-deliverer.js";

export interface TeamOptions {
  rateLimit: RateLimitOptions | false;
  webhooks: WebhookOptions | false;
  sse: SseOptions;
  queueCounts?: QueueCounts;
}

export const defaultTeamOptions: TeamOptions = {
  rateLimit: { max: 1200, windowMs: 60_000 },
  webhooks: { pollMs: 1000, backoffMs: 5000, maxAttempts: 8, timeoutMs: 10_000 },
  sse: { pollMs: 500, heartbeatMs: 15_000 },
};

const num = (v: string | undefined, d: number) => (v === undefined || v === "" ? d : Number(v));

/** RATE_LIMIT_PER_MINUTE (0: off), WEBHOOK_BACKOFF_MS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_TIMEOUT_MS, WEBHOOKS=0, SSE_POLL_MS. */
export function teamOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): TeamOptions {
  const d = defaultTeamOptions;
  const perMinute = num(env.RATE_LIMIT_PER_MINUTE, 1200);
  const w = d.webhooks as WebhookOptions;
  return {
    rateLimit: perMinute > 0 ? { max: perMinute, windowMs: 60_000 } : false,
    webhooks:
      env.WEBHOOKS === "0"
        ? false
        : {
            pollMs: num(env.WEBHOOK_POLL_MS, w.pollMs),
            backoffMs: num(env.WEBHOOK_BACKOFF_MS, w.backoffMs),
            maxAttempts: num(env.WEBHOOK_MAX_ATTEMPTS, w.maxAttempts),
            timeoutMs: num(env.WEBHOOK_TIMEOUT_MS, w.timeoutMs),
          },
    sse: { pollMs: num(env.SSE_POLL_MS, d.sse.pollMs), heartbeatMs: d.sse.heartbeatMs },
  };
}

/** Call right after installAuth and before the core routes (route table and rate limits see routes as they are added). */
export async function installTeamFeatures(app: FastifyInstance, d: ApiDeps): Promise<void> {
  const o: TeamOptions = { ...defaultTeamOptions, ...d.teams };
  collectRoutes(app);
  installRoles(app);
  installLogContext(app);
  if (o.rateLimit) await installRateLimit(app, o.rateLimit);
  installEtags(app);
  installAuditHook(app, d.db);
  installMetrics(app, d.db, o.queueCounts);
  sseRoutes(app, d, o.sse);
  keyRotationRoutes(app, d);
  aliasRoutes(app, d);
  cardRoutes(app, d);
  sharingRoutes(app, d);
  compareRoutes(app, d);
  webhookRoutes(app, d);
  auditRoutes(app, d);
  if (o.webhooks) {
    const deliverer = new WebhookDeliverer(d.db, o.webhooks, app.log);
    app.addHook("onReady", async () => deliverer.start());
    app.addHook("onClose", async () => deliverer.stop());
  }
}
