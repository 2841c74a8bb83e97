// No lost or stuck jobs (issue 12 item 3), on a private redis-server this test stops and wipes: while Redis
// is down POST /v1/jobs still answers 201 at once (the job waits in the outbox) and an Idempotency-Key
// repeat returns that job; when Redis is back the relay queues it; when Redis comes back empty the
// reconciler dispatches every open job again (a single job and a pipeline), and a worker runs each once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JobQueues, type OpenedDb, redisConnection } from "@shortened/adapters";
import type { ApiServer } from "@shortened/api";
import { apiCaller, type S3Server, type ServiceStack, startServiceStack, until } from "./helpers/service.js";

describe("jobs go through the outbox and survive Redis outages and wipes", { timeout: 180_000 }, () => {
  let stack: ServiceStack<S3Server>;
  let api: ApiServer;
  let db: OpenedDb;
  let redis: NonNullable<ServiceStack<S3Server>["redis"]>;
  let queues: JobQueues;
  let key = "";
  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const job = async (id: string) => (await call("GET", `/v1/jobs/${id}`)).body;
  const queueState = async (id: string) => {
    const row = await db.prisma.job.findUniqueOrThrow({ where: { id } });
    return queues.jobState(row.kind as never, row.queueKey!);
  };

  before(async () => {
    // The reconciler runs when the test says (RECONCILE_INTERVAL_MS=0: at start only); a worker starts later.
    stack = await startServiceStack({
      bucket: "outbox",
      prefix: "outbox",
      privateRedis: true,
      workers: 0,
      modelSources: "s3://src/",
      env: { OUTBOX_POLL_MS: "200", RECONCILE_INTERVAL_MS: "0" },
    });
    ({ api, db, apiKey: key } = stack);
    redis = stack.redis!;
    queues = new JobQueues({ redisUrl: redis.url, prefix: "outbox", attempts: 2, backoffMs: 300 });
  });

  after(async () => {
    await queues?.close();
    await stack?.close();
  });

  const ids: string[] = [];

  it("answers 201 at once while Redis is down, and queues the job when it is back", async () => {
    await redis.stop();
    const t = Date.now();
    const first = await call(
      "POST",
      "/v1/jobs",
      { kind: "prune", model: "tiny", blocks: [4] },
      {
        "idempotency-key": "while-down",
      },
    );
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const pipeline = await call("POST", "/v1/jobs", {
      kind: "pipeline",
      model: "tiny",
      prune: { blocks: [5] },
      evaluate: [{ dataset: "wikitext2", seqLen: 128, maxTokens: 1024 }],
    });
    assert.equal(pipeline.status, 201, JSON.stringify(pipeline.body));
    assert.ok(Date.now() - t < 3000, `two submissions took ${Date.now() - t} ms with Redis down`);
    const again = await call(
      "POST",
      "/v1/jobs",
      { kind: "prune", model: "tiny", blocks: [4] },
      {
        "idempotency-key": "while-down",
      },
    );
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(await db.prisma.jobOutbox.count(), 2, "both dispatches wait in the outbox");
    ids.push(first.body.id, pipeline.body.id);

    await redis.start();
    await until("the outbox to drain", async () => (await db.prisma.jobOutbox.count()) === 0, 30_000, 100);
    assert.equal(await queueState(first.body.id), "waiting");
    assert.equal(await queueState(pipeline.body.id), "waiting-children");
  });

  it("dispatches open jobs again when Redis comes back empty; a worker runs each once", async () => {
    const before = await db.prisma.job.findMany({ where: { id: { in: ids } } });
    const r = redisConnection(redis.url);
    await r.flushall();
    r.disconnect();
    assert.equal(await queueState(ids[0]), "unknown", "the wipe emptied the queue");
    await api.relay.reconcile();
    for (const b of before) {
      const now = await db.prisma.job.findUniqueOrThrow({ where: { id: b.id } });
      assert.notEqual(now.queueKey, b.queueKey, "dispatched again under a new queue id");
      assert.equal(now.state, "queued");
    }
    assert.equal(await queueState(ids[0]), "waiting");
    assert.equal(await queueState(ids[1]), "waiting-children");
    // A second pass finds nothing to do.
    assert.deepEqual(await api.relay.reconcileOnce(), { requeued: [], failed: [] });

    await stack.spawnWorker().ready;
    for (const id of ids) {
      const done = await until(
        `job ${id} to finish`,
        async () => {
          const j = await job(id);
          return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
        },
        120_000,
      );
      assert.equal(done.state, "succeeded", JSON.stringify(done));
      assert.equal(done.attempts, 1, "run once");
    }
    const steps = (await call("GET", `/v1/jobs?parentJobId=${ids[1]}`)).body.items;
    assert.deepEqual(steps.map((s: { state: string }) => s.state).sort(), ["succeeded", "succeeded"]);
    // One version per prune, however often a job was dispatched.
    const produced = await db.prisma.modelVersion.count({ where: { kind: "pruned" } });
    assert.equal(produced, 2);
  });
});
