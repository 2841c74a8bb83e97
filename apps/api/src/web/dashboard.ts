// The dashboard (apps/web) served by the API itself: hashed assets under /assets/ cached for a year
// (their names change with their content), pre-compressed copies sent to browsers that accept them, and
// index.html (never cached) for every page path, so a reload of /jobs/<id> opens that page. Nothing
// comes from another origin: the Content-Security-Policy says so.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Top-level page paths of the single-page app (apps/web/src/routes.ts). */
export const DASHBOARD_PAGES = [
  "/",
  "/sign-in",
  "/jobs",
  "/registry",
  "/compare",
  "/playground",
  "/submit",
  "/admin",
];

const CSP = [
  "default-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  // vega compiles chart expressions with Function(); everything else is a static module.
  "script-src 'self' 'unsafe-eval'",
  "object-src 'none'",
].join("; ");

export async function dashboardRoutes(app: FastifyInstance, dir: string | null): Promise<void> {
  const indexFile = dir ? join(dir, "index.html") : null;
  if (!indexFile || !existsSync(indexFile)) {
    app.get("/", { schema: { hide: true } }, async (_req, reply) =>
      reply
        .status(503)
        .type("text/plain; charset=utf-8")
        .send("The dashboard is not built: run `npm run build` (apps/web), then restart the API.\n"),
    );
    return;
  }
  const index = readFileSync(indexFile);
  await app.register(fastifyStatic, {
    root: join(dir!, "assets"),
    prefix: "/assets/",
    decorateReply: false,
    preCompressed: true,
    immutable: true,
    maxAge: "365d",
    index: false,
    wildcard: true,
  });
  const page = async (_req: unknown, reply: import("fastify").FastifyReply) =>
    reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-cache")
      .header("content-security-policy", CSP)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "same-origin")
      .send(index);
  const hidden = { schema: { hide: true } };
  for (const p of DASHBOARD_PAGES) {
    app.get(p, hidden, page);
    if (p !== "/") app.get(`${p}/*`, hidden, page);
  }
}
