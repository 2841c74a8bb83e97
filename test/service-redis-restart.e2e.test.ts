// Redis restarts while a job runs (on a private redis-server, so other tests are not disturbed):
// the running job still finishes and is recorded once, and the queue keeps working afterwards.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { createTeam, type OpenedDb, openPostgres } from "@shortened/adapters";
import { type ApiServer, startApiServer } from "@shortened/api";
import {
  apiCaller,
  createTestDatabase,
  putDemoModel,
  serviceEnv,
  startPrivateRedis,
  startS3,
  startWorkerProcess,
  stopWorker,
  until,
  type WorkerProcess,
} from "./helpers/service.js";

let api: ApiServer;
let db: OpenedDb;
let worker: WorkerProcess;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let s3: Awaited<ReturnType<typeof startS3>>;
let drop: () => Promise<void>;
let key = "";
const cacheRoot = mkdtempSync(join(tmpdir(), "shortened-restart-"));

const call = apiCaller(
  () => api.url,
  () => key,
);

before(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  [redis, s3] = await Promise.all([startPrivateRedis(), startS3()]);
  const env = serviceEnv({
    databaseUrl: database.url,
    redisUrl: redis.url,
    s3Endpoint: s3.endpoint,
    bucket: "restart",
    queuePrefix: "restart",
  });
  // The demo checkpoint is registered from bucket src, an operator-allowed model source.
  api = await startApiServer({ ...env, MODEL_SOURCES: "s3://src/" }, { host: "127.0.0.1", logger: false });
  db = await openPostgres(database.url, { migrate: "skip" });
  worker = startWorkerProcess({ ...env, WORKER_CACHE_DIR: cacheRoot });
  key = (await createTeam(db.prisma, "restart")).apiKey;
  await putDemoModel(s3.endpoint, "src", "tiny");
  assert.equal((await call("POST", "/v1/models", { name: "tiny", uri: "s3://src/tiny" })).status, 201);
  await worker.ready;
});

after(async () => {
  await stopWorker(worker);
  await api?.close();
  await db?.close();
  await redis?.close();
  await s3?.close();
  await drop?.();
  rmSync(cacheRoot, { recursive: true, force: true });
});

it("keeps going when Redis restarts during a job", { timeout: 150_000 }, async () => {
  const spec = {
    kind: "evaluate",
    model: "tiny",
    dataset: "ptb",
    seqLen: 128,
    maxTokens: 120_000,
    batchSize: 4,
  };
  const { body: job } = await call("POST", "/v1/jobs", spec);
  await until(
    "the job to run",
    async () => (await call("GET", `/v1/jobs/${job.id}`)).body.progress > 0,
    60_000,
  );
  await redis.stop();
  assert.equal((await call("GET", `/v1/jobs/${job.id}`)).body.state, "running", "Redis went down mid-job");
  const ready = await fetch(`${api.url}/readyz`);
  assert.equal(ready.status, 503);
  assert.match((await ready.json()).checks.redis, /failing/);
  await new Promise((r) => setTimeout(r, 1500));
  await redis.start();
  const done = await until(
    "the job to finish",
    async () => {
      const j = (await call("GET", `/v1/jobs/${job.id}`)).body;
      return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
    },
    120_000,
  );
  assert.equal(done.state, "succeeded", JSON.stringify(done));
  assert.equal((await call("GET", `/v1/jobs/${job.id}/metrics`)).body.items.length, 1);
  // The queue works after the restart.
  const { body: next } = await call("POST", "/v1/jobs", { kind: "prune", model: "tiny", blocks: [4] });
  const nextDone = await until(
    "a job after the restart",
    async () => {
      const j = (await call("GET", `/v1/jobs/${next.id}`)).body;
      return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
    },
    60_000,
  );
  assert.equal(nextDone.state, "succeeded", JSON.stringify(nextDone));
});
