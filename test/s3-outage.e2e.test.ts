// S3 outages in service mode (issue 12 item 9), on an s3rver child process that the test kills (-9) and starts
// again on the same port and data. The design: a store that cannot be reached fails the attempt with
// "artifact store unavailable (<operation>)" (never the endpoint); the attempt is retried with backoff like
// any transient error (JOB_ATTEMPTS, JOB_BACKOFF_MS), so a short outage costs the attempts that start during it and a long one fails
// the job with that reason. Either way nothing is half-registered (success and its outputs are recorded in one
// transaction, after every upload was verified), the sweeper removes what failed attempts left in the store,
// registration answers 503 `store_unavailable` while the store is down, and the worker lives on.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { OpenedDb, S3Store } from "@shortened/adapters";
import type { ApiServer } from "@shortened/api";
import { jobOutputPrefix } from "@shortened/jobs";
import { type KillableS3, startKillableS3 } from "./helpers/s3-process.js";
import {
  apiCaller,
  repoRoot,
  type ServiceStack,
  s3rverStore,
  startServiceStack,
  until,
  type WorkerProcess,
} from "./helpers/service.js";

const ENDED = ["succeeded", "failed", "cancelled"];
/** What a reason or an event line must never show: the store's endpoint, socket errors, local paths. */
const INTERNAL = /127\.0\.0\.1|ECONNREFUSED|ECONNRESET|socket hang up|\/tmp\/|http:\/\//;

describe("S3 outages in service mode", { timeout: 400_000 }, () => {
  let stack: ServiceStack<KillableS3>;
  let api: ApiServer;
  let db: OpenedDb;
  let s3: KillableS3;
  let store: S3Store;
  let worker: WorkerProcess;
  let key = "";
  let teamId = "";
  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const job = async (id: string) => (await call("GET", `/v1/jobs/${id}`)).body;
  const finished = (id: string, ms = 180_000) =>
    until(`job ${id} to end`, async () => ((j) => (ENDED.includes(j.state) ? j : null))(await job(id)), ms);
  const eventLines = async (id: string): Promise<string[]> =>
    (await call("GET", `/v1/jobs/${id}/events?limit=1000`)).body.items.map((e: { data: unknown }) =>
      JSON.stringify(e.data),
    );
  // Long enough that the store can be killed while it computes; its report is uploaded at the end.
  const evaluateSpec = { kind: "evaluate", model: "tiny", dataset: "ptb", seqLen: 128, maxTokens: 60_000 };

  before(async () => {
    stack = await startServiceStack({
      bucket: "out",
      s3: startKillableS3,
      modelSources: "s3://src/",
      // Three attempts 2 s and 4 s apart; the reconciler (and its sweeper) runs when the test says.
      env: { JOB_ATTEMPTS: "3", JOB_BACKOFF_MS: "2000", RECONCILE_INTERVAL_MS: "0" },
    });
    ({ api, db, s3, apiKey: key, teamId } = stack);
    [worker] = stack.workers;
    store = s3rverStore(s3.endpoint, "out");
  });

  after(() => stack?.close());

  it("a short outage mid-job costs only the attempts it overlaps: the retry succeeds, its outputs recorded once", async () => {
    const { body: submitted } = await call("POST", "/v1/jobs", evaluateSpec);
    await until("the job to compute", async () => (await job(submitted.id)).progress > 0, 120_000, 100);
    await s3.kill();
    const ready = await fetch(`${api.url}/readyz`);
    assert.equal(ready.status, 503);
    const failedLine = await until(
      "the attempt to fail on the store",
      async () => (await eventLines(submitted.id)).find((l) => /attempt 1 failed/.test(l)),
      120_000,
    );
    assert.match(failedLine, /artifact store unavailable \(upload\); retry later; retrying/);
    assert.doesNotMatch(failedLine, INTERNAL);
    await s3.start();
    const backAt = Date.now();
    const done = await finished(submitted.id);
    assert.equal(done.state, "succeeded", JSON.stringify(done));
    // The outage costs the attempts that started while the store was down, and only those: the retry 2 s
    // after attempt 1 may start before s3rver is listening again on a busy machine and fail on the store too.
    const events = (await call("GET", `/v1/jobs/${submitted.id}/events?limit=1000`)).body.items as {
      type: string;
      data: { state?: string; line?: string };
      createdAt: string;
    }[];
    const starts = events.filter((e) => e.type === "state" && e.data.state === "running");
    const failures = events.filter((e) =>
      /^attempt \d+ failed: artifact store unavailable/.test(e.data.line ?? ""),
    );
    assert.equal(starts.length, done.attempts, "each attempt's start is an event");
    assert.equal(failures.length, done.attempts - 1, "every attempt but the last failed on the store");
    const startedAfterOutage = starts.filter((e) => Date.parse(e.createdAt) > backAt);
    assert.ok(startedAfterOutage.length <= 1, "an attempt that starts after the store is back succeeds");
    assert.ok(done.attempts <= 3, "within the job's attempts");
    assert.equal(done.preemptions, 0, "a store outage is an error of the attempt, not a preemption");
    const metrics = await db.prisma.metric.findMany({ where: { jobId: submitted.id } });
    assert.equal(new Set(metrics.map((m) => m.name)).size, metrics.length, "no metric twice");
    const rows = await db.prisma.artifact.findMany({ where: { jobId: submitted.id } });
    assert.ok(rows.length >= 2, "the report is recorded");
    const stored = (await store.list(jobOutputPrefix(teamId, submitted.id))).map((o) => o.key).sort();
    assert.deepEqual(stored, rows.map((r) => r.key).sort(), "exactly the recorded outputs are stored");
    for (const l of await eventLines(submitted.id)) assert.doesNotMatch(l, INTERNAL);
  });

  it("a long outage fails the job cleanly; nothing half-registered; the worker lives on", async () => {
    const { body: submitted } = await call("POST", "/v1/jobs", { ...evaluateSpec, maxTokens: 30_000 });
    await until("the job to compute", async () => (await job(submitted.id)).progress > 0, 120_000, 100);
    await s3.kill();

    // While the store is down: registration answers 503 and stores nothing; submitting still works.
    const tar = execFileSync(
      "tar",
      ["-cf", "-", "-C", join(repoRoot, "models", "tinystories-llama-8L"), "."],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const up = await fetch(`${api.url}/v1/models/upload?name=during-outage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/x-tar" },
      body: tar,
    });
    const upBody = (await up.json()) as { error: { code: string; message: string } };
    assert.equal(up.status, 503, JSON.stringify(upBody));
    assert.equal(upBody.error.code, "store_unavailable");
    assert.match(upBody.error.message, /^artifact store unavailable \(upload\)/);
    const byUri = await call("POST", "/v1/models", { name: "again", uri: "s3://src/tiny" });
    assert.equal(byUri.status, 503, JSON.stringify(byUri.body));
    assert.doesNotMatch(JSON.stringify(byUri.body), INTERNAL);
    assert.equal(await db.prisma.model.count({ where: { name: { in: ["during-outage", "again"] } } }), 0);
    const queued = await call("POST", "/v1/jobs", { kind: "prune", model: "tiny", blocks: [4] });
    assert.equal(queued.status, 201, "a submission needs only the database");

    const done = await finished(submitted.id);
    assert.equal(done.state, "failed", JSON.stringify(done));
    assert.match(done.reason, /^artifact store unavailable \((upload|list|download)\); retry later$/);
    assert.doesNotMatch(done.reason, INTERNAL);
    assert.equal(done.attempts, 3);
    assert.equal(await db.prisma.artifact.count({ where: { jobId: submitted.id } }), 0);
    assert.equal(await db.prisma.metric.count({ where: { jobId: submitted.id } }), 0);
    assert.equal(await db.prisma.modelVersion.count({ where: { producedByJobId: submitted.id } }), 0);
    assert.equal(worker.child.exitCode, null, "the worker is alive");
    assert.equal(worker.child.signalCode, null);

    await s3.start();
    await api.relay.reconcile();
    assert.deepEqual(await store.list(jobOutputPrefix(teamId, submitted.id)), [], "no orphan");
    // The same worker runs what was submitted during the outage (it retries until the store is back, or,
    // when it ran out of attempts meanwhile, a retry by the user runs it).
    let next = await finished(queued.body.id);
    if (next.state === "failed") {
      assert.match(next.reason, /^artifact store unavailable/);
      assert.equal((await call("POST", `/v1/jobs/${queued.body.id}/retry`)).status, 200);
      next = await finished(queued.body.id);
    }
    assert.equal(next.state, "succeeded", JSON.stringify(next));
    assert.equal(await db.prisma.modelVersion.count({ where: { producedByJobId: queued.body.id } }), 1);
    // The worker logs "job finished" after it recorded the job's end, so the line can trail the state we read.
    await until(
      "the worker that lived through the outage to log the job finished",
      async () => worker.lines.some((l) => l.msg === "job finished" && l.jobId === queued.body.id),
      60_000,
      50,
    );
  });
});
