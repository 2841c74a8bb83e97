// /v1/jobs: submit (Idempotency-Key), list (filters + cursor), get, cancel, retry, events, outputs.

import { getJob, listArtifacts, listEvents, listJobs, listMetrics } from "@shortened/adapters";
import {
  ArtifactList,
  Job,
  JobEventPage,
  JobPage,
  JobSpec,
  ListEventsQuery,
  ListJobsQuery,
  MetricList,
} from "@shortened/contracts";
import { cancelJob, retryJob, submitJob } from "@shortened/jobs";
import { z } from "zod";
import { teamOf } from "../plugins/auth.js";
import { errors, idParam, json } from "../route-schema.js";
import { artifactJson, eventJson, jobJson, metricJson } from "../serialize.js";
import { v1Routes } from "./route-plugin.js";

const params = idParam("job id");
const tags = ["jobs"];

export const jobRoutes = v1Routes("jobs", (app, d) => {
  app.post(
    "/jobs",
    {
      schema: {
        operationId: "submitJob",
        summary: "submit a job; a repeated Idempotency-Key returns the first job (200)",
        tags,
        headers: z.looseObject({
          "idempotency-key": z
            .string()
            .min(1)
            .max(200)
            .optional()
            .describe("a repeat with the same key returns the first job instead of submitting again"),
        }),
        body: JobSpec,
        response: {
          201: json(Job, "the job, queued"),
          200: json(Job, "the first job submitted with this Idempotency-Key"),
          ...errors(
            [404, "no such model version in the caller's team"],
            [422, "the job kind is not available on this server"],
          ),
        },
      },
      config: {
        role: "member",
        audit: { action: "job.submit", targetType: "job", status: 201, pick: ["kind", "inputVersionId"] },
      },
    },
    async (req, reply) => {
      const { job, created } = await submitJob(d.db, d.dispatcher, teamOf(req), req.body, {
        idempotencyKey: req.headers["idempotency-key"],
        kinds: d.kinds,
        store: d.store,
      });
      return reply
        .status(created ? 201 : 200)
        .header("location", `/v1/jobs/${job.id}`)
        .send(jobJson(job));
    },
  );

  app.get(
    "/jobs",
    {
      schema: {
        operationId: "listJobs",
        summary: "list jobs, newest first, in cursor pages",
        tags,
        querystring: ListJobsQuery,
        response: { 200: json(JobPage, "a page of jobs") },
      },
      config: { role: "member" },
    },
    async (req) => {
      const page = await listJobs(d.db, teamOf(req), req.query);
      return { items: page.items.map(jobJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/jobs/:id",
    {
      schema: {
        operationId: "getJob",
        summary: "a job",
        tags,
        params,
        response: { 200: json(Job, "the job"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => jobJson(await getJob(d.db, teamOf(req), req.params.id)),
  );

  app.post(
    "/jobs/:id/cancel",
    {
      schema: {
        operationId: "cancelJob",
        summary: "cancel a job (a running job stops within seconds); no body",
        tags,
        params,
        response: {
          200: json(Job, "the job, cancelled or asked to stop"),
          ...errors(404, [409, "already finished"]),
        },
      },
      config: {
        role: "member",
        audit: { action: "job.cancel", targetType: "job", status: 200, pick: ["state"] },
      },
    },
    async (req) => jobJson(await cancelJob(d.db, d.dispatcher, teamOf(req), req.params.id)),
  );

  app.post(
    "/jobs/:id/retry",
    {
      schema: {
        operationId: "retryJob",
        summary: "retry a failed or cancelled job; no body",
        tags,
        params,
        response: {
          200: json(Job, "the job, queued again"),
          ...errors(404, [409, "the job is neither failed nor cancelled"]),
        },
      },
      config: { role: "member", audit: { action: "job.retry", targetType: "job", status: 200 } },
    },
    async (req) => jobJson(await retryJob(d.db, d.dispatcher, teamOf(req), req.params.id)),
  );

  app.get(
    "/jobs/:id/events",
    {
      schema: {
        operationId: "listJobEvents",
        summary: "progress, log lines, metrics and state changes after a cursor",
        tags,
        params,
        querystring: ListEventsQuery,
        response: { 200: json(JobEventPage, "a page of events, oldest first"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const page = await listEvents(d.db, teamOf(req), req.params.id, req.query.after, req.query.limit, {
        steps: req.query.steps,
      });
      return { items: page.items.map(eventJson), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/jobs/:id/artifacts",
    {
      schema: {
        operationId: "listJobArtifacts",
        summary: "files a job produced",
        tags,
        params,
        response: { 200: json(ArtifactList, "the job's artifacts"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const job = await getJob(d.db, team, req.params.id);
      return { items: (await listArtifacts(d.db, team, { jobId: job.id })).map(artifactJson) };
    },
  );

  app.get(
    "/jobs/:id/metrics",
    {
      schema: {
        operationId: "listJobMetrics",
        summary: "metrics a job measured, each with its protocol",
        tags,
        params,
        response: { 200: json(MetricList, "the job's metrics"), ...errors(404) },
      },
      config: { role: "member" },
    },
    async (req) => {
      const team = teamOf(req);
      const job = await getJob(d.db, team, req.params.id);
      return { items: (await listMetrics(d.db, team, { jobId: job.id })).map(metricJson) };
    },
  );
});
