// Rate limits per API key (by client address before a key is known): @fastify/rate-limit, checked after
// authentication so one team's busy client cannot starve the others. 429 with the error shape.
import rateLimit from "@fastify/rate-limit";
import { UserError } from "@shortened/contracts";
import type { FastifyInstance } from "fastify";

export interface RateLimitOptions {
  /** Requests per key per window. */
  max: number;
  windowMs: number;
}

/** Call before the routes are registered (the plugin attaches itself to routes as they are added). */
export async function installRateLimit(app: FastifyInstance, o: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: "preHandler",
    max: o.max,
    timeWindow: o.windowMs,
    allowList: (req) => !req.url.startsWith("/v1/"),
    keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new UserError(
        "rate_limited",
        `rate limit of ${ctx.max} requests per ${Math.round(o.windowMs / 1000)} s for this key reached; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        429,
      ),
  });
}
