// Playground generations are interactive (issue 20): they go to the evaluate kind's interactive queue and
// take a worker slot reserved for them, so one is not stuck behind long retrains and evaluations. A worker
// with one ordinary slot runs a long retrain; a long evaluation waits behind it; a playground generation
// submitted then finishes while the retrain still runs and the evaluation still waits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ApiServer } from "@shortened/api";
import { apiCaller, type S3Server, type ServiceStack, startServiceStack, until } from "./helpers/service.js";

describe("playground generations jump the queue", { timeout: 300_000 }, () => {
  let stack: ServiceStack<S3Server>;
  let api: ApiServer;
  let key = "";
  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const job = async (id: string) => (await call("GET", `/v1/jobs/${id}`)).body;

  before(async () => {
    stack = await startServiceStack({
      bucket: "prio",
      modelSources: "s3://src/",
      env: { WORKER_CONCURRENCY: "1", WORKER_INTERACTIVE_SLOTS: "1" },
    });
    ({ api, apiKey: key } = stack);
  });

  after(() => stack?.close());

  it("a generation finishes while a long retrain runs and a long evaluation waits", async () => {
    const retrain = await call("POST", "/v1/jobs", {
      kind: "retrain",
      model: "tiny@1",
      method: "lora",
      data: { dataset: "alpaca", maxItems: 64 },
      steps: 2000,
      batch: 2,
      seqLen: 128,
      threads: 1,
    });
    assert.equal(retrain.status, 201, JSON.stringify(retrain.body));
    await until("the retrain to run", async () => (await job(retrain.body.id)).state === "running", 120_000);
    const evaluation = await call("POST", "/v1/jobs", {
      kind: "evaluate",
      model: "tiny@1",
      dataset: "ptb",
      seqLen: 128,
      maxTokens: 120_000,
    });
    assert.equal(evaluation.status, 201);
    const generation = await call("POST", "/v1/jobs", {
      kind: "evaluate",
      model: "tiny@1",
      task: "generate",
      prompts: ["Once upon a time"],
      maxNewTokens: 8,
    });
    assert.equal(generation.status, 201);
    const done = await until(
      "the generation to end",
      async () =>
        ((j) => (["succeeded", "failed", "cancelled"].includes(j.state) ? j : null))(
          await job(generation.body.id),
        ),
      150_000,
    );
    assert.equal(done.state, "succeeded", JSON.stringify(done));
    assert.equal((await job(retrain.body.id)).state, "running", "the retrain still runs");
    assert.equal(
      (await job(evaluation.body.id)).state,
      "queued",
      "the batch evaluation still waits its turn",
    );
    for (const id of [retrain.body.id, evaluation.body.id])
      assert.equal((await call("POST", `/v1/jobs/${id}/cancel`)).status < 300, true);
    await until(
      "the cancelled jobs to end",
      async () =>
        (await job(retrain.body.id)).state === "cancelled" &&
        (await job(evaluation.body.id)).state === "cancelled",
      120_000,
    );
  });
});
