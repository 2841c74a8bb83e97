// Job events as Server-Sent Events: GET /v1/jobs/:id/stream sends every event after Last-Event-ID (the
// header a reconnecting EventSource sends, or ?lastEventId=) once and in order, each with `id: <seq>`,
// then `event: end` once the job has finished and its final state event was sent. A pipeline's stream
// also carries its steps' events (each event names its jobId), so one stream follows the whole run.
// The caller's credential is checked again every second: a stream whose key (or dashboard session) is
// revoked, or whose rotated key's grace period ends, gets `event: error` (unauthorized) and is closed.
import { getJob, listEvents } from "@shortened/adapters";
import { EventSeq, finishedStates, StreamQuery } from "@shortened/contracts";
import { z } from "zod";
import { teamOptions } from "../deps.js";
import { errorBody } from "../errors.js";
import { teamOf } from "../plugins/auth.js";
import { errors, idParam } from "../route-schema.js";
import { eventJson } from "../serialize.js";
import { v1Routes } from "./route-plugin.js";

export interface SseOptions {
  /** How often the database is polled for new events. */
  pollMs: number;
  /** Comment lines that keep proxies from closing an idle stream. */
  heartbeatMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RECHECK_MS = 1000;

/** A state event that ends the job (a retry later starts a new run with a "queued" state event). */
function isFinal(e: { type: string; data: unknown; jobId: string }, jobId: string): boolean {
  const s = (e.data as { state?: string } | null)?.state;
  return e.jobId === jobId && e.type === "state" && s !== undefined && finishedStates.includes(s as never);
}

export const jobStreamRoutes = v1Routes("job stream", (app, d) => {
  const o = teamOptions(d).sse;
  const open = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const close of open) close();
  });

  app.get(
    "/jobs/:id/stream",
    {
      schema: {
        operationId: "streamJobEvents",
        summary: "job events as Server-Sent Events, each with `id: <seq>`; resumes after Last-Event-ID",
        tags: ["jobs"],
        params: idParam("job id"),
        headers: z.looseObject({ "last-event-id": EventSeq.optional().describe("resume after this event") }),
        querystring: StreamQuery,
        response: {
          200: {
            description:
              "an event stream: `event: <type>` with the event as JSON, then `event: end` when the job has finished",
            content: { "text/event-stream": { schema: z.string() } },
          },
          204: z.null().describe("the job has finished and nothing follows Last-Event-ID"),
          ...errors(404),
        },
      },
      config: { role: "member" },
    },
    async (req, reply) => {
      const team = teamOf(req);
      const job = await getJob(d.db, team, req.params.id);
      let cursor = req.headers["last-event-id"] ?? req.query.lastEventId;
      // Resuming after the final state event of a finished job: nothing more will come. 204 tells an
      // EventSource to stop reconnecting.
      const lastEvent = cursor
        ? await d.db.jobEvent.findFirst({ where: { jobId: job.id, seq: BigInt(cursor) } })
        : null;
      let finalSeen = lastEvent ? isFinal(lastEvent, job.id) : false;
      if (finalSeen && finishedStates.includes(job.state)) {
        const steps = job.kind === "pipeline";
        const newer = (await listEvents(d.db, team, job.id, cursor as string, 1, { steps })).items.length;
        if (newer === 0) return reply.status(204).send(null);
      }
      let closed = false;
      const res = reply.raw;
      const close = () => {
        closed = true;
        res.end();
      };
      open.add(close);
      req.raw.on("close", () => {
        closed = true;
      });
      reply.hijack();
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.write("retry: 2000\n\n");
      let lastBeat = Date.now();
      let lastCheck = Date.now();
      let finishedAt = 0;
      try {
        while (!closed) {
          if (Date.now() - lastCheck >= RECHECK_MS) {
            lastCheck = Date.now();
            if (!(await req.stillAuthenticated?.())) {
              const body = errorBody("unauthorized", "the credential of this stream was revoked or expired");
              res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
              break;
            }
          }
          // The state is read before the events, so a job that finished meanwhile has its events read after.
          const state = (await d.db.job.findUnique({ where: { id: job.id }, select: { state: true } }))
            ?.state;
          const page = await listEvents(d.db, team, job.id, cursor, 500, { steps: job.kind === "pipeline" });
          for (const e of page.items) {
            const j = eventJson(e);
            res.write(`id: ${j.seq}\nevent: ${j.type}\ndata: ${JSON.stringify(j)}\n\n`);
            cursor = j.seq;
            if (e.jobId === job.id && e.type === "state") finalSeen = isFinal(e, job.id);
          }
          if (page.items.length === 500) continue;
          const finished = state !== undefined && finishedStates.includes(state);
          if (finished) finishedAt ||= Date.now();
          else finishedAt = 0;
          // The final state event follows the state change (endJob writes it just after); wait for it briefly.
          if (finished && (finalSeen || Date.now() - finishedAt > 5000)) {
            res.write(`event: end\ndata: ${JSON.stringify({ state })}\n\n`);
            break;
          }
          if (Date.now() - lastBeat >= o.heartbeatMs) {
            res.write(": keep-alive\n\n");
            lastBeat = Date.now();
          }
          await sleep(o.pollMs);
        }
      } catch (e) {
        req.log.error({ err: e, jobId: job.id }, "event stream failed");
      } finally {
        open.delete(close);
        res.end();
      }
    },
  );
});
