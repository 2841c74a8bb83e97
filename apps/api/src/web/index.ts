// The web dashboard's server side: cookie sessions for the browser and the built single-page app.
import { dashboardDir } from "@shortened/web";
import type { FastifyInstance } from "fastify";
import type { ApiDeps } from "../deps.js";
import { dashboardRoutes } from "./dashboard.js";
import { sessionRoutes } from "./sessions.js";

export { sessionCookieSource } from "./sessions.js";

export interface WebOptions {
  /** The built dashboard (apps/web/dist by default); null serves none. */
  dashboardDir?: string | null;
  /** Session lifetime in seconds (default 8 h). */
  sessionTtlSeconds?: number;
  /** Secure cookies; by default only on requests that came over https. */
  secureCookie?: boolean;
}

/** DASHBOARD_DIR (empty: no dashboard), SESSION_TTL_SECONDS, COOKIE_SECURE=1|0. */
export function webOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WebOptions {
  return {
    ...(env.DASHBOARD_DIR !== undefined ? { dashboardDir: env.DASHBOARD_DIR || null } : {}),
    ...(env.SESSION_TTL_SECONDS ? { sessionTtlSeconds: Number(env.SESSION_TTL_SECONDS) } : {}),
    ...(env.COOKIE_SECURE ? { secureCookie: env.COOKIE_SECURE === "1" } : {}),
  };
}

/** Sign-in routes (/session) and the dashboard's pages and assets, at the root (no key). */
export async function webRoutes(app: FastifyInstance, d: ApiDeps): Promise<void> {
  await app.register(sessionRoutes, d);
  const dir = d.web?.dashboardDir;
  await app.register(async (site) => dashboardRoutes(site, dir === undefined ? dashboardDir : dir));
}
