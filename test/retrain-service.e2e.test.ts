// Retraining in service mode against the machine's PostgreSQL and Redis and an S3 server on loopback: a
// pipeline prune -> retrain (LoRA, merged) -> evaluate submitted through the API; the worker running the
// retrain step is killed (-9) after it saved training state to S3, and the other worker resumes from there.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ApiServer } from "@shortened/api";
import {
  apiCaller,
  repoRoot,
  type S3Server,
  type ServiceStack,
  s3rverStore,
  startServiceStack,
  until,
  type WorkerProcess,
} from "./helpers/service.js";

const demoDir = join(repoRoot, "models", "tinystories-llama-8L");
const BUCKET = "shortened-retrain-e2e";

// Each test has its own bound: a bound on the whole suite would, on a busy machine, tear the stack down
// (after) under a test that is still running, which then fails with "fetch failed" and takes the rest along.
const EACH = { timeout: 240_000 };

describe("retrain in service mode", () => {
  let stack: ServiceStack<S3Server>;
  let s3: S3Server;
  let api: ApiServer;
  let workers: WorkerProcess[] = [];
  let key = "";
  let teamId = "";

  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const events = async (id: string) =>
    (await call("GET", `/v1/jobs/${id}/events?limit=1000`)).body.items as { type: string; data: never }[];

  before(async () => {
    stack = await startServiceStack({ bucket: BUCKET, workers: 2, env: { JOB_ATTEMPTS: "2" } });
    ({ s3, api, teamId, apiKey: key } = stack);
    workers = [...stack.workers];
  });

  after(() => stack?.close());

  it(
    "prunes, retrains (resuming on another worker after kill -9) and evaluates the merged model",
    EACH,
    async () => {
      const tar = execFileSync("tar", ["-cf", "-", "-C", demoDir, "."], { maxBuffer: 64 * 1024 * 1024 });
      const up = await fetch(`${api.url}/v1/models/upload?name=tiny`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/x-tar" },
        body: tar,
      });
      assert.equal(up.status, 201);
      const baseId = ((await up.json()) as { latestVersion: { id: string } }).latestVersion.id;

      const steps = 40;
      const r = await call("POST", "/v1/jobs", {
        kind: "pipeline",
        model: "tiny",
        prune: { blocks: [5, 6] },
        retrain: {
          method: "lora",
          data: { dataset: "alpaca", maxItems: 48 },
          steps,
          batch: 2,
          seqLen: 160,
          lr: 5e-4,
          targets: ["q_proj", "v_proj"],
          checkpointEvery: 2,
          threads: 1,
        },
        evaluate: [{ dataset: "wikitext2", seqLen: 128, maxTokens: 2048 }],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const pipelineId = r.body.id;
      const retrain = await until("the retrain step", async () =>
        (await call("GET", `/v1/jobs?parentJobId=${pipelineId}`)).body.items.find(
          (s: { kind: string }) => s.kind === "retrain",
        ),
      );
      // Kill the worker running it once a training state is in S3.
      await until(
        "a saved training state",
        async () =>
          (await events(retrain.id)).some((e) => /state saved at step/.test(JSON.stringify(e.data))),
        90_000,
      );
      // The worker running its current attempt (an earlier attempt's worker may have lost the job).
      const attempt = (await call("GET", `/v1/jobs/${retrain.id}`)).body.attempts;
      const owner = workers.find((w) =>
        w.lines.some((l) => l.msg === "job started" && l.jobId === retrain.id && l.attempt === attempt),
      )!;
      owner.child.kill("SIGKILL");
      await owner.exited;
      workers = workers.filter((w) => w !== owner);

      const done = await until(
        "the pipeline to finish",
        async () => {
          const j = (await call("GET", `/v1/jobs/${pipelineId}`)).body;
          return ["succeeded", "failed", "cancelled"].includes(j.state) ? j : null;
        },
        120_000,
      );
      assert.equal(done.state, "succeeded", JSON.stringify(done));
      const job = (await call("GET", `/v1/jobs/${retrain.id}`)).body;
      assert.ok(job.attempts >= 2, `attempts ${job.attempts}`);
      const lora = job.result.phases[0];
      assert.ok(lora.resumedFrom >= 2 && lora.resumedFrom < steps, `resumed from ${lora.resumedFrom}`);
      assert.equal(lora.losses.length, steps);
      assert.ok((await events(retrain.id)).some((e) => /resumed from step/.test(JSON.stringify(e.data))));

      // Lineage base -> pruned -> merged; the evaluation ran on the merged model.
      const finalId = done.result.finalVersionId;
      const lineage = (await call("GET", `/v1/versions/${finalId}/lineage`)).body;
      assert.equal(lineage.version.kind, "merged");
      assert.equal(lineage.version.recipe.method, "lora");
      assert.equal(lineage.version.recipe.steps, steps);
      assert.deepEqual(
        lineage.ancestors.map((v: { kind: string }) => v.kind),
        ["pruned", "base"],
      );
      assert.equal(lineage.ancestors[1].id, baseId);
      const metrics = (await call("GET", `/v1/versions/${finalId}/metrics`)).body.items.map(
        (m: { name: string }) => m.name,
      );
      assert.deepEqual(metrics.sort(), ["ppl_wikitext2", "train_loss"]);
      const files = (await call("GET", `/v1/jobs/${retrain.id}/artifacts`)).body.items.map(
        (a: { name: string }) => a.name,
      );
      for (const f of [
        "adapter_model.safetensors",
        "training_curve.json",
        "training_curve.svg",
        "model.safetensors",
      ])
        assert.ok(files.includes(f), `${f} in ${files.join(",")}`);

      // No training state left behind in S3.
      const store = s3rverStore(s3.endpoint, BUCKET);
      assert.deepEqual(await store.list(`teams/${teamId}/jobs/${retrain.id}/state/`), []);
    },
  );
});
