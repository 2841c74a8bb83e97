// Every route the app serves, collected as it is registered: the security test walks this table, so an
// endpoint added later is covered without anyone remembering to list it.
import type { FastifyInstance } from "fastify";

export interface RouteEntry {
  method: string;
  url: string;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Call before any route is registered. */
export function collectRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook("onRoute", (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) if (m !== "HEAD") table.push({ method: m, url: r.url });
  });
}

export function routeTable(app: FastifyInstance): RouteEntry[] {
  return [...(tables.get(app) ?? [])];
}
