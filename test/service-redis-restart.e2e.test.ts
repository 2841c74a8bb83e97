// Redis restarts while a job runs (on a private redis-server, so other tests are not disturbed):
// the running job still finishes and is recorded once, and the queue keeps working afterwards.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { ApiServer } from "@shortened/api";
import { apiCaller, type S3Server, type ServiceStack, startServiceStack, until } from "./helpers/service.js";

let stack: ServiceStack<S3Server>;
let api: ApiServer;
let redis: NonNullable<ServiceStack<S3Server>["redis"]>;
let key = "";

const call = apiCaller(
  () => api.url,
  () => key,
);

before(async () => {
  stack = await startServiceStack({
    bucket: "restart",
    prefix: "restart",
    privateRedis: true,
    modelSources: "s3://src/",
  });
  ({ api, apiKey: key } = stack);
  redis = stack.redis!;
});

after(() => stack?.close());

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
  assert.match(((await ready.json()) as { checks: { redis: string } }).checks.redis, /failing/);
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
