// /v1/jobs: submit (Idempotency-Key), list (filters + cursor), get, cancel, retry, events, outputs.

import { getJob, listArtifacts, listEvents, listJobs, listMetrics } from "@shortened/adapters";
import { ListEventsQuery, ListJobsQuery, UserError } from "@shortened/contracts";
import { cancelJob, retryJob, submitJob } from "@shortened/jobs";
import type { FastifyInstance } from "fastify";
import { parseWith, teamOf } from "../auth.js";
import { artifactJson, eventJson, jobJson, metricJson } from "../serialize.js";
import type { ApiDeps } from "./context.js";

export function jobRoutes(app: FastifyInstance, d: ApiDeps): void {
  app.post("/v1/jobs", async (req, reply) => {
    const key = req.headers["idempotency-key"];
    if (key !== undefined && (typeof key !== "string" || key.length < 1 || key.length > 200))
      throw new UserError("bad_request", "Idempotency-Key must be 1..200 characters");
    const { job, created } = await submitJob(d.db, d.dispatcher, teamOf(req), req.body, {
      idempotencyKey: key as string | undefined,
      kinds: d.kinds,
    });
    return reply
      .status(created ? 201 : 200)
      .header("location", `/v1/jobs/${job.id}`)
      .send(jobJson(job));
  });

  app.get("/v1/jobs", async (req) => {
    const q = parseWith(ListJobsQuery, req.query, "query");
    const page = await listJobs(d.db, teamOf(req), q);
    return { items: page.items.map(jobJson), nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>("/v1/jobs/:id", async (req) =>
    jobJson(await getJob(d.db, teamOf(req), req.params.id)),
  );

  app.post<{ Params: { id: string } }>("/v1/jobs/:id/cancel", async (req) =>
    jobJson(await cancelJob(d.db, d.dispatcher, teamOf(req), req.params.id)),
  );

  app.post<{ Params: { id: string } }>("/v1/jobs/:id/retry", async (req) =>
    jobJson(await retryJob(d.db, d.dispatcher, teamOf(req), req.params.id)),
  );

  app.get<{ Params: { id: string } }>("/v1/jobs/:id/events", async (req) => {
    const q = parseWith(ListEventsQuery, req.query, "query");
    const page = await listEvents(d.db, teamOf(req), req.params.id, q.after, q.limit, { steps: q.steps });
    return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
  });

  app.get<{ Params: { id: string } }>("/v1/jobs/:id/artifacts", async (req) => {
    const team = teamOf(req);
    const job = await getJob(d.db, team, req.params.id);
    return { items: (await listArtifacts(d.db, team, { jobId: job.id })).map(artifactJson) };
  });

  app.get<{ Params: { id: string } }>("/v1/jobs/:id/metrics", async (req) => {
    const team = teamOf(req);
    const job = await getJob(d.db, team, req.params.id);
    return { items: (await listMetrics(d.db, team, { jobId: job.id })).map(metricJson) };
  });
}
