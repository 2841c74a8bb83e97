// Structured request logs (pino, through fastify): each request's logger carries the team, the key id
// and, on job routes, the job id; the Authorization header and cookies are redacted if ever logged.
import fp from "fastify-plugin";

export const LOG_REDACT = {
  paths: [
    "req.headers.authorization",
    "req.headers.cookie",
    "headers.authorization",
    "authorization",
    "apiKey",
    "secret",
  ],
  censor: "[redacted]",
};

export const logContext = fp(
  async (app) => {
    app.addHook("onRequest", async (req, reply) => {
      if (!req.principal) return;
      const url = req.routeOptions.url ?? "";
      const id = (req.params as { id?: string } | undefined)?.id;
      req.log = req.log.child({
        teamId: req.principal.teamId,
        keyId: req.principal.keyId,
        ...(id && url.startsWith("/v1/jobs/:id") ? { jobId: id } : {}),
      });
      // The "request completed" line is written through the reply's logger.
      reply.log = req.log;
    });
  },
  // Its hook reads the principal, so it must run after the auth hook.
  { name: "log-context", dependencies: ["auth"] },
);
