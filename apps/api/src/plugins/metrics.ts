// Prometheus metrics of the API at GET /metrics (no key; scrape it from inside the cluster): request
// durations per route, jobs per kind and state from the database (state="queued" is the queue depth),
// BullMQ's own counts per queue, finished-job durations, and the process's default metrics. Job
// durations and worker utilisation as the workers see them are on each worker's own /metrics.
import type { PrismaClient } from "@shortened/adapters";
import { jobKinds } from "@shortened/contracts";
import fp from "fastify-plugin";
import client from "prom-client";
import { z } from "zod";

export type QueueCounts = (kind: (typeof jobKinds)[number]) => Promise<Record<string, number>>;

export const prometheusMetrics = fp<{ db: PrismaClient; queueCounts?: QueueCounts }>(
  async (app, { db, queueCounts }) => {
    const registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry, prefix: "shortened_api_" });
    const http = new client.Histogram({
      name: "shortened_http_request_duration_seconds",
      help: "API request durations by route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    });
    app.addHook("onResponse", async (req, reply) => {
      http.observe(
        { method: req.method, route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
    new client.Gauge({
      name: "shortened_jobs",
      help: "jobs by kind and state (state=queued: queue depth; state=failed: failures so far)",
      labelNames: ["kind", "state"],
      registers: [registry],
      async collect() {
        const rows = await db.job.groupBy({ by: ["kind", "state"], _count: { _all: true } });
        this.reset();
        for (const r of rows) this.set({ kind: r.kind, state: r.state }, r._count._all);
      },
    });
    new client.Gauge({
      name: "shortened_job_duration_seconds_avg",
      help: "mean duration (start to finish) of jobs that finished in the last hour, by kind and state",
      labelNames: ["kind", "state"],
      registers: [registry],
      async collect() {
        const rows = await db.$queryRaw<{ kind: string; state: string; secs: number }[]>`
        SELECT kind, state::text AS state, AVG(EXTRACT(EPOCH FROM ("finishedAt" - "startedAt")))::float8 AS secs
        FROM "Job" WHERE "finishedAt" > now() - interval '1 hour' AND "startedAt" IS NOT NULL
        GROUP BY kind, state`;
        this.reset();
        for (const r of rows) this.set({ kind: r.kind, state: r.state }, Number(r.secs));
      },
    });
    if (queueCounts)
      new client.Gauge({
        name: "shortened_queue_jobs",
        help: "BullMQ jobs per queue and state (waiting + delayed: work not yet started)",
        labelNames: ["queue", "state"],
        registers: [registry],
        async collect() {
          this.reset();
          for (const kind of jobKinds) {
            const counts = await queueCounts(kind).catch(() => null);
            for (const [state, n] of Object.entries(counts ?? {})) this.set({ queue: kind, state }, n);
          }
        },
      });
    app.get(
      "/metrics",
      {
        schema: {
          operationId: "getPrometheusMetrics",
          summary: "Prometheus metrics (scrape from inside the cluster; no key)",
          tags: ["operations"],
          response: {
            200: {
              description: "the Prometheus text exposition format",
              content: { "text/plain": { schema: z.string() } },
            },
          },
        },
      },
      async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: "metrics", dependencies: ["@fastify/swagger"] },
);
