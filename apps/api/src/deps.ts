// What the API is built from: its ports (database, artifact store, dispatcher), limits, and the options of
// the team features (rate limits, webhooks, SSE polling), with their defaults and environment variables.

import {
  type DestinationPolicy,
  destinationPolicyFromEnv,
  type HubDeps,
  type PrismaClient,
  publicHttpsOnly,
} from "@shortened/adapters";
import type { ArtifactStore, JobKind } from "@shortened/contracts";
import type { Dispatcher } from "@shortened/jobs";
import type { QueueCounts } from "./plugins/metrics.js";
import type { RateLimitOptions } from "./plugins/rate-limit.js";
import type { SseOptions } from "./routes/job-stream.js";
import type { WebOptions } from "./web/index.js";
import type { WebhookOptions } from "./webhook-deliverer.js";

export interface ApiDeps {
  db: PrismaClient;
  store: ArtifactStore;
  dispatcher: Dispatcher;
  /** Checks each dependency; a rejected promise marks the service not ready. */
  readiness: Record<string, () => Promise<unknown>>;
  /** Largest model upload accepted, in bytes. */
  uploadLimitBytes: number;
  /** Largest JSON body accepted, in bytes. */
  bodyLimitBytes: number;
  /** Job kinds this deployment runs (default: every kind with a handler). */
  kinds?: JobKind[];
  /** Lifetime of presigned download URLs, in seconds. */
  urlExpirySeconds: number;
  /** s3:// prefixes and hf:// sources every team may register models from (MODEL_SOURCES); each team adds its own. */
  modelSources?: string[];
  /** The Hugging Face Hub (HF_ENDPOINT, budgets, download cache, SECRETS_KEY); default: from the environment. */
  hub?: HubDeps;
  /** Team features (rate limits, webhooks, SSE polling); defaults below. */
  teams?: Partial<TeamOptions>;
  /** The dashboard and its cookie sessions; defaults in web/index.ts. */
  web?: WebOptions;
}

export interface TeamOptions {
  rateLimit: RateLimitOptions | false;
  webhooks: WebhookOptions | false;
  sse: SseOptions;
  /** Where webhooks may point: public https by default; internal receivers only when an operator lists them. */
  destinations: DestinationPolicy;
  queueCounts?: QueueCounts;
}

export const defaultTeamOptions: TeamOptions = {
  rateLimit: { max: 1200, windowMs: 60_000 },
  webhooks: { pollMs: 1000, backoffMs: 5000, maxAttempts: 8, timeoutMs: 10_000 },
  sse: { pollMs: 500, heartbeatMs: 15_000 },
  destinations: publicHttpsOnly,
};

const num = (v: string | undefined, d: number) => (v === undefined || v === "" ? d : Number(v));

/**
 * RATE_LIMIT_PER_MINUTE (0: off), WEBHOOK_BACKOFF_MS, WEBHOOK_MAX_ATTEMPTS, WEBHOOK_TIMEOUT_MS, WEBHOOKS=0,
 * WEBHOOK_ALLOWED_DESTINATIONS, WEBHOOK_ALLOW_HTTP=1, SSE_POLL_MS.
 */
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
    destinations: destinationPolicyFromEnv(env),
  };
}

/** The deps with the team options completed by their defaults. */
export const teamOptions = (d: ApiDeps): TeamOptions => ({ ...defaultTeamOptions, ...d.teams });
