// Every route the app serves, with its role, collected as it is registered: the security test walks this
// table, so an endpoint added later is covered without anyone remembering to list it.
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import type { Role } from "../route-schema.js";

export interface RouteEntry {
  method: string;
  url: string;
  /** Who may call it; undefined for the public routes (health, readiness, metrics, docs). */
  role?: Role;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

export const routeTableCollector = fp(
  async (app) => {
    const table: RouteEntry[] = [];
    tables.set(app, table);
    app.addHook("onRoute", (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const m of methods) if (m !== "HEAD") table.push({ method: m, url: r.url, role: r.config?.role });
    });
  },
  { name: "route-table" },
);

export function routeTable(app: FastifyInstance): RouteEntry[] {
  return [...(tables.get(app) ?? [])];
}
