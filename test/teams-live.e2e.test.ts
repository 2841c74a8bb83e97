// Live progress for dashboards: ETags with 304 on job and list responses, updatedSince on lists, and
// job events as Server-Sent Events that arrive once, in order, and resume from Last-Event-ID.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { appendEvents, endJob, setProgress, startAttempt } from "@shortened/adapters";
import { readSse } from "./helpers/sse.js";
import { startTeamsRig, type TeamsRig } from "./helpers/teams-app.js";

describe("live progress: ETag/304, updatedSince, SSE", { timeout: 60_000 }, () => {
  let rig: TeamsRig;
  let key = "";
  before(async () => {
    rig = await startTeamsRig();
    key = rig.a.admin;
  });
  after(async () => rig?.close());

  const submit = async () => {
    const r = await rig.call("POST", "/v1/jobs", { key, body: { kind: "evaluate", model: "tiny" } });
    assert.equal(r.status, 201, r.text);
    return r.body.id as string;
  };

  it("answers a second identical GET of a job or a list with 304, and a changed one with 200", async () => {
    const id = await submit();
    for (const path of [`/v1/jobs/${id}`, "/v1/jobs", "/v1/models", `/v1/jobs/${id}/events`]) {
      const first = await rig.call("GET", path, { key });
      assert.equal(first.status, 200);
      const tag = first.headers.get("etag");
      assert.match(tag ?? "", /^W\/".+"$/, path);
      const again = await rig.call("GET", path, { key, headers: { "if-none-match": tag! } });
      assert.equal(again.status, 304, path);
      assert.equal(again.text, "");
      assert.equal(again.headers.get("etag"), tag);
    }
    const tag = (await rig.call("GET", `/v1/jobs/${id}`, { key })).headers.get("etag")!;
    await startAttempt(rig.db.prisma, id);
    await setProgress(rig.db.prisma, id, 0.5);
    const changed = await rig.call("GET", `/v1/jobs/${id}`, { key, headers: { "if-none-match": tag } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.progress, 0.5);
    assert.notEqual(changed.headers.get("etag"), tag);
    // Another team's If-None-Match cannot probe A's job: 404 before any ETag.
    const probe = await rig.call("GET", `/v1/jobs/${id}`, {
      key: rig.b.admin,
      headers: { "if-none-match": tag },
    });
    assert.equal(probe.status, 404);
  });

  it("lists only what changed since updatedSince", async () => {
    const old = await submit();
    await new Promise((r) => setTimeout(r, 30));
    const since = new Date().toISOString();
    const fresh = await submit();
    await new Promise((r) => setTimeout(r, 30));
    const ids = (await rig.call("GET", `/v1/jobs?updatedSince=${since}`, { key })).body.items.map(
      (j: { id: string }) => j.id,
    );
    assert.ok(ids.includes(fresh) && !ids.includes(old), ids.join(","));
    await startAttempt(rig.db.prisma, old);
    const after = (await rig.call("GET", `/v1/jobs?updatedSince=${since}`, { key })).body.items.map(
      (j: { id: string }) => j.id,
    );
    assert.ok(after.includes(old), "a job that changed shows up again");
    const models = await rig.call(
      "GET",
      `/v1/models?updatedSince=${new Date(Date.now() + 60_000).toISOString()}`,
      { key },
    );
    assert.deepEqual(models.body.items, []);
  });

  it("streams job events once and in order, and resumes from Last-Event-ID", async () => {
    const id = await submit();
    const url = `${rig.url}/v1/jobs/${id}/stream`;
    const auth = { authorization: `Bearer ${key}` };
    // First connection: the queued state, then what a worker writes while we listen.
    const writer = (async () => {
      await new Promise((r) => setTimeout(r, 150));
      await startAttempt(rig.db.prisma, id);
      await appendEvents(rig.db.prisma, id, [
        { type: "progress", data: { fraction: 0.25 } },
        { type: "log", data: { line: "window 1/4" } },
      ]);
    })();
    const first = await readSse(url, auth, (ev) => ev.length >= 4);
    await writer;
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.events.map((e) => e.event),
      ["state", "state", "progress", "log"],
    );
    // While disconnected: more progress, then the end of the job.
    await appendEvents(rig.db.prisma, id, [
      { type: "progress", data: { fraction: 0.75 } },
      { type: "log", data: { line: "window 3/4" } },
    ]);
    await endJob(rig.db.prisma, id, "failed", "out of memory", "internal");
    const lastId = first.events[first.events.length - 1].id!;
    const second = await readSse(url, { ...auth, "last-event-id": lastId }, (ev) =>
      ev.some((e) => e.event === "end"),
    );
    assert.deepEqual(
      second.events.map((e) => e.event),
      ["progress", "log", "state", "end"],
    );
    assert.equal(JSON.parse(second.events[3].data).state, "failed");
    // Together: every stored event exactly once, in seq order.
    const seen = [...first.events, ...second.events].filter((e) => e.id).map((e) => e.id);
    const stored = (await rig.call("GET", `/v1/jobs/${id}/events`, { key })).body.items.map(
      (e: { seq: string }) => e.seq,
    );
    assert.deepEqual(seen, stored);
    assert.deepEqual(
      [...seen].sort((a, b) => Number(a) - Number(b)),
      seen,
    );
    // A finished job: the stream replays from the cursor and ends at once.
    const replay = await readSse(url, { ...auth, "last-event-id": stored[stored.length - 2] }, () => false);
    assert.deepEqual(
      replay.events.map((e) => e.event),
      ["state", "end"],
    );
    // Reconnecting after the final event: 204, so an EventSource stops reconnecting.
    const done = await readSse(url, { ...auth, "last-event-id": stored[stored.length - 1] }, () => false);
    assert.equal(done.status, 204);
    // Bad cursor and another team's job.
    assert.equal((await rig.call("GET", `/v1/jobs/${id}/stream?lastEventId=abc`, { key })).status, 400);
    assert.equal((await rig.call("GET", `/v1/jobs/${id}/stream`, { key: rig.b.admin })).status, 404);
  });

  it("ends a stream when its key is revoked, and when a rotated key's grace period ends", async () => {
    const id = await submit();
    const url = `${rig.url}/v1/jobs/${id}/stream`;
    for (const how of ["revoke", "rotate"] as const) {
      const made = await rig.call("POST", "/v1/keys", {
        key,
        body: { name: `viewer-${how}`, role: "member" },
      });
      assert.equal(made.status, 201, made.text);
      const started = Date.now();
      const stop = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        const r =
          how === "revoke"
            ? await rig.call("DELETE", `/v1/keys/${made.body.id}`, { key })
            : await rig.call("POST", `/v1/keys/${made.body.id}/rotate`, { key, body: { graceSeconds: 1 } });
        assert.ok(r.status < 300, r.text);
      })();
      // The job never finishes: only the revocation can end this stream.
      const read = await readSse(url, { authorization: `Bearer ${made.body.apiKey}` }, () => false, 8000);
      await stop;
      const last = read.events[read.events.length - 1];
      assert.equal(last.event, "error", `${how}: ${JSON.stringify(read.events)}`);
      assert.equal(JSON.parse(last.data).error.code, "unauthorized");
      assert.ok(!read.events.some((e) => e.event === "end"));
      assert.ok(Date.now() - started < 6000, `${how}: ended after ${Date.now() - started} ms`);
      // Reconnecting with that key: 401.
      assert.equal((await rig.call("GET", `/v1/jobs/${id}/stream`, { key: made.body.apiKey })).status, 401);
    }
  });

  it("exposes Prometheus metrics: queue depth, job durations, failures, request durations", async () => {
    const res = await rig.call("GET", "/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const queued = await rig.db.prisma.job.count({ where: { kind: "evaluate", state: "queued" } });
    assert.ok(queued > 0);
    assert.match(res.text, new RegExp(`shortened_jobs\\{kind="evaluate",state="queued"\\} ${queued}\\b`));
    assert.match(res.text, /shortened_jobs\{kind="evaluate",state="failed"\} 1\b/);
    assert.match(res.text, /shortened_job_duration_seconds_avg\{kind="evaluate",state="failed"\} [0-9.e-]+/);
    assert.match(
      res.text,
      /shortened_http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/v1\/jobs\/:id"/,
    );
    assert.match(res.text, /shortened_api_process_cpu_seconds_total/);
  });
});
