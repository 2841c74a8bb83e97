// Rate limits per API key: @fastify/rate-limit on every route registered after this plugin in its scope
// (the /v1 scope), counted once the caller is known (so one team's busy client cannot starve the others).
// 429 with the error shape, documented on each route it covers.
import rateLimit from "@fastify/rate-limit";
import { UserError } from "@shortened/contracts";
import fp from "fastify-plugin";
import { addErrors } from "../route-schema.js";

export interface RateLimitOptions {
  /** Requests per key per window. */
  max: number;
  windowMs: number;
}

export const keyRateLimit = fp<{ limit: RateLimitOptions }>(
  async (app, { limit }) => {
    app.addHook("onRoute", (route) => addErrors(route, 429));
    await app.register(rateLimit, {
      global: true,
      // After authentication (onRequest) and before validation, so bad requests count too.
      hook: "preValidation",
      max: limit.max,
      timeWindow: limit.windowMs,
      keyGenerator: (req) => (req.principal ? `key:${req.principal.keyId}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, ctx) =>
        new UserError(
          "rate_limited",
          `rate limit of ${ctx.max} requests per ${Math.round(limit.windowMs / 1000)} s for this key reached; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
          429,
        ),
    });
  },
  { name: "rate-limit", dependencies: ["auth"] },
);
