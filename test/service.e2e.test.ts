// End to end in service mode against the machine's PostgreSQL and Redis and an S3 server on loopback:
// the automation contract, registering the demo model, a pipeline to completion, presigned download,
// lineage and metrics; and the faults: kill -9 of a worker mid-job, S3 upload errors, a repeated
// Idempotency-Key, malformed and oversized bodies, cancellation.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { JobQueues, type OpenedDb } from "@shortened/adapters";
import type { ApiServer } from "@shortened/api";
import { type DispatchJob, submitJob } from "@shortened/jobs";
import { jsonOf, runCli } from "./helpers/cli.js";
import {
  apiCaller,
  REDIS_URL,
  repoRoot,
  type S3Server,
  type ServiceStack,
  s3rverStore,
  startServiceStack,
  until,
  type WorkerProcess,
} from "./helpers/service.js";

const demoDir = join(repoRoot, "models", "tinystories-llama-8L");
// Long enough (150k tokens) that a test can kill its worker or cancel it while it runs.
const SLOW_EVALUATE = {
  kind: "evaluate",
  model: "tiny",
  dataset: "wikitext2",
  seqLen: 128,
  maxTokens: 150_000,
  batchSize: 4,
};
const cliMain = join(repoRoot, "apps", "cli", "src", "main.ts");
const runCliAsync = async (args: string[]) =>
  (
    await promisify(execFile)(
      process.execPath,
      ["--conditions=development", "--import", "tsx", cliMain, ...args],
      { cwd: repoRoot },
    )
  ).stdout;
const BUCKET = "shortened-e2e";

// Each test has its own bound: a bound on the whole suite would, on a busy machine, tear the stack down
// (after) under a test that is still running, which then fails with "fetch failed" and takes the rest along.
const EACH = { timeout: 240_000 };

describe("service mode end to end", () => {
  let stack: ServiceStack<S3Server>;
  let s3: S3Server;
  let api: ApiServer;
  let db: OpenedDb;
  let env: NodeJS.ProcessEnv;
  let workers: WorkerProcess[] = [];
  let key = "";
  let teamId = "";
  let prefix = "";

  const call = apiCaller(
    () => api.url,
    () => key,
  );
  const waitJob = async (id: string, ms = 150_000) => {
    let last: unknown = null;
    try {
      return await until(
        `job ${id} to finish`,
        async () => {
          const r = await call("GET", `/v1/jobs/${id}`);
          last = r.body;
          return ["succeeded", "failed", "cancelled"].includes(r.body.state) ? r.body : null;
        },
        ms,
      );
    } catch (e) {
      const steps = (await call("GET", `/v1/jobs?parentJobId=${id}`)).body.items;
      throw new Error(`${(e as Error).message}: ${JSON.stringify({ last, steps })}`);
    }
  };

  before(async () => {
    // models-src is the bucket the demo checkpoint is registered from: an operator-allowed model source (the
    // tests put it there). The S3-fault test queues a job on another prefix, which this API's reconciler
    // must not take back. The first test makes the team with the CLI.
    stack = await startServiceStack({
      bucket: BUCKET,
      workers: 2,
      team: false,
      env: { JOB_ATTEMPTS: "2", MODEL_SOURCES: "s3://models-src/" },
      apiEnv: { RECONCILE_INTERVAL_MS: "0" },
    });
    ({ s3, api, db, env, prefix, workers } = stack);
  });

  after(() => stack?.close());

  it("creates a team with `admin create-team --json` and authenticates Bearer keys", EACH, async () => {
    const out = jsonOf(
      runCli(["admin", "create-team", `team-${prefix}`, "--json"], {
        env: { DATABASE_URL: env.DATABASE_URL },
      }),
    );
    assert.deepEqual(Object.keys(out).sort(), ["apiKey", "teamId"]);
    ({ teamId, apiKey: key } = out);
    for (const p of ["/healthz", "/readyz", "/openapi.json"]) {
      const saved = key;
      key = "";
      assert.equal((await call("GET", p)).status, 200, p);
      key = saved;
    }
    const doc = (await call("GET", "/openapi.json")).body;
    assert.equal(doc.openapi, "3.1.0");
    const specs = doc.paths["/v1/jobs"].post.requestBody.content["application/json"].schema.oneOf;
    assert.ok(
      specs.some(
        (s: { properties?: { kind?: { enum?: string[] } } }) => s.properties?.kind?.enum?.[0] === "pipeline",
      ),
    );
    const saved = key;
    key = "";
    const none = await call("GET", "/v1/jobs");
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, "unauthorized");
    key = "sk_wrong";
    assert.equal((await call("GET", "/v1/jobs")).status, 401);
    key = saved;
    const team = await call("GET", "/v1/team");
    assert.equal(team.body.id, teamId);
    const docs = await fetch(`${api.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  it("refuses to start a worker whose lock timings differ from the running workers'", EACH, async () => {
    const odd = stack.spawnWorker({ WORKER_LOCK_MS: "60000" });
    odd.ready.catch(() => {});
    assert.equal(await odd.exited, 2);
  });

  let baseVersionId = "";
  it("registers the demo model by s3:// URI and by tar upload", EACH, async () => {
    const store = s3rverStore(s3.endpoint, "models-src");
    await store.ensureBucket();
    for (const f of readdirSync(demoDir))
      await store.client.send(
        new PutObjectCommand({
          Bucket: "models-src",
          Key: `tiny/${f}`,
          Body: readFileSync(join(demoDir, f)),
        }),
      );
    const r = await call("POST", "/v1/models", { name: "tiny", uri: "s3://models-src/tiny", license: "MIT" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.config.numHiddenLayers, 8);
    baseVersionId = r.body.latestVersion.id;
    assert.equal(
      (await call("POST", "/v1/models", { name: "tiny", uri: "s3://models-src/tiny" })).body.error.code,
      "conflict",
    );

    const tar = execFileSync("tar", ["-cf", "-", "-C", demoDir, "."], { maxBuffer: 64 * 1024 * 1024 });
    const up = await fetch(`${api.url}/v1/models/upload?name=tiny-upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/x-tar" },
      body: tar,
    });
    const upBody = (await up.json()) as { latestVersion: { id: string } };
    assert.equal(up.status, 201, JSON.stringify(upBody));
    const files = (await call("GET", `/v1/versions/${upBody.latestVersion.id}/artifacts`)).body.items.map(
      (a: { name: string }) => a.name,
    );
    assert.ok(files.includes("model.safetensors") && files.includes("config.json"), files.join(","));
    // multipart/form-data, one part per file, as `shortened models register --path --server` sends it.
    const viaCli = JSON.parse(
      await runCliAsync([
        "models",
        "register",
        "tiny-multipart",
        "--path",
        demoDir,
        "--server",
        api.url,
        "--key",
        key,
        "--json",
      ]),
    );
    assert.equal(viaCli.config.numHiddenLayers, 8);
    const bad = await fetch(`${api.url}/v1/models/upload?name=broken`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/x-tar" },
      body: Buffer.alloc(1024, 7),
    });
    assert.equal(bad.status, 400);
    assert.equal((await call("GET", "/v1/models/broken")).status, 404);
  });

  let pipelineId = "";
  it("runs a pipeline to completion; one job per Idempotency-Key", EACH, async () => {
    const spec = {
      kind: "pipeline",
      model: "tiny",
      importance: {
        criterion: "ppl",
        calibration: { dataset: "ptb", n: 4, seqLen: 64 },
        keepFirst: 1,
        keepLast: 1,
      },
      prune: { count: 2 },
      evaluate: [{ dataset: "wikitext2", seqLen: 128, maxTokens: 4096 }],
    };
    const first = await call("POST", "/v1/jobs", spec, { "idempotency-key": "pipe-1" });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await call("POST", "/v1/jobs", spec, { "idempotency-key": "pipe-1" });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    pipelineId = first.body.id;
    const list = await call("GET", "/v1/jobs?kind=pipeline");
    assert.equal(list.body.items.length, 1);

    const done = await waitJob(pipelineId);
    assert.equal(done.state, "succeeded", JSON.stringify(done));
    const steps = (await call("GET", `/v1/jobs?parentJobId=${pipelineId}`)).body.items;
    assert.deepEqual(steps.map((s: { kind: string }) => s.kind).sort(), ["evaluate", "importance", "prune"]);
    assert.ok(steps.every((s: { state: string }) => s.state === "succeeded"));
    const events = (
      await call("GET", `/v1/jobs/${steps.find((s: { kind: string }) => s.kind === "prune").id}/events`)
    ).body.items;
    assert.ok(events.some((e: { type: string }) => e.type === "progress"));
    assert.deepEqual(
      events
        .filter((e: { type: string }) => e.type === "state")
        .map((e: { data: { state: string } }) => e.data.state),
      ["queued", "running", "succeeded"],
    );

    const impId = steps.find((s: { kind: string }) => s.kind === "importance").id;
    const impFiles = (await call("GET", `/v1/jobs/${impId}/artifacts`)).body.items.map(
      (a: { name: string }) => a.name,
    );
    assert.deepEqual(impFiles.sort(), ["importance.json", "importance.svg"]);

    // The pruned checkpoint: lineage, files by presigned URL, metrics with their protocol.
    const finalVersionId = done.result.finalVersionId;
    const lineage = (await call("GET", `/v1/versions/${finalVersionId}/lineage`)).body;
    assert.equal(lineage.version.kind, "pruned");
    assert.equal(lineage.version.parentId, baseVersionId);
    assert.deepEqual(
      lineage.ancestors.map((v: { id: string }) => v.id),
      [baseVersionId],
    );
    assert.equal(lineage.version.recipe.removed.length, 2);
    const artifacts = (await call("GET", `/v1/versions/${finalVersionId}/artifacts`)).body.items;
    const weights = artifacts.find((a: { name: string }) => a.name === "model.safetensors");
    const config = artifacts.find((a: { name: string }) => a.name === "config.json");
    const url = (await call("GET", `/v1/artifacts/${weights.id}/url`)).body.url;
    const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(bytes.length, weights.size);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), weights.sha256);
    const cfg = (await (
      await fetch((await call("GET", `/v1/artifacts/${config.id}/url`)).body.url)
    ).json()) as {
      num_hidden_layers: number;
    };
    assert.equal(cfg.num_hidden_layers, 6);
    const metrics = (await call("GET", `/v1/versions/${finalVersionId}/metrics`)).body.items;
    const ppl = metrics.find((m: { name: string }) => m.name === "ppl_wikitext2");
    assert.ok(ppl && ppl.value > 1 && Number.isFinite(ppl.value));
    assert.equal(ppl.protocol.seqLen, 128);
    assert.equal(ppl.protocol.maxTokens, 4096);
    assert.equal(ppl.protocol.dataset, "wikitext2");

    // The CLI as a client of the running service (asynchronously: the API runs in this process).
    const cli = await runCliAsync([
      "models",
      "lineage",
      finalVersionId,
      "--server",
      api.url,
      "--key",
      key,
      "--json",
    ]);
    assert.equal(JSON.parse(cli).version.parentId, baseVersionId);
  });

  it(
    "answers malformed, invalid, oversized and unavailable requests with 4xx and the error shape",
    EACH,
    async () => {
      const malformed = await call("POST", "/v1/jobs", "{not json", { "content-type": "application/json" });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, "bad_request");
      const invalid = await call("POST", "/v1/jobs", { kind: "prune", model: "tiny" });
      assert.equal(invalid.status, 400);
      assert.match(invalid.body.error.message, /exactly one of blocks/);
      const big = await call("POST", "/v1/jobs", {
        kind: "evaluate",
        model: "tiny",
        pad: "x".repeat(3 * 1024 * 1024),
      });
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, "payload_too_large");
      const missing = await call("POST", "/v1/jobs", { kind: "evaluate", model: "no-such-model" });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, "not_found");
      const unknownKind = await call("POST", "/v1/jobs", { kind: "explode", model: "tiny" });
      assert.equal(unknownKind.status, 400);
      const badBlocks = await call("POST", "/v1/jobs", { kind: "prune", model: "tiny", blocks: [99] });
      assert.equal(badBlocks.status, 201);
      const failed = await waitJob(badBlocks.body.id);
      assert.equal(failed.state, "failed");
      assert.equal(failed.attempts, 1, "bad input is not retried");
      assert.match(failed.reason, /99/);
    },
  );

  it("pages through jobs and events by cursor, and filters lists", EACH, async () => {
    const all = (await call("GET", "/v1/jobs?limit=200")).body.items.map((j: { id: string }) => j.id);
    assert.ok(all.length >= 5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await call(
        "GET",
        `/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      assert.ok(page.body.items.length <= 2);
      seen.push(...page.body.items.map((j) => j.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, all);
    assert.deepEqual([...seen].sort().reverse(), seen, "newest first");
    const failed = (await call("GET", "/v1/jobs?state=failed")).body.items;
    assert.ok(failed.length >= 1 && failed.every((j: { state: string }) => j.state === "failed"));
    assert.equal((await call("GET", "/v1/jobs?state=exploded")).status, 400);

    const first = (await call("GET", `/v1/jobs/${pipelineId}/events?limit=1`)).body;
    const rest = (await call("GET", `/v1/jobs/${pipelineId}/events?after=${first.nextCursor}`)).body;
    const everything = (await call("GET", `/v1/jobs/${pipelineId}/events`)).body;
    assert.deepEqual([...first.items, ...rest.items], everything.items);
    const models = (await call("GET", "/v1/models?q=upload")).body.items.map((m: { name: string }) => m.name);
    assert.deepEqual(models, ["tiny-upload"]);
  });

  it("finishes a job on another worker after kill -9, without duplicates", EACH, async () => {
    const r = await call("POST", "/v1/jobs", SLOW_EVALUATE);
    const id = r.body.id;
    const owner = await until("a worker to start the job", async () =>
      workers.find((w) => w.lines.some((l) => l.msg === "job started" && l.jobId === id)),
    );
    await until("progress", async () => (await call("GET", `/v1/jobs/${id}`)).body.progress > 0, 60_000);
    owner.child.kill("SIGKILL");
    await owner.exited;
    const done = await waitJob(id, 120_000);
    assert.equal(done.state, "succeeded", JSON.stringify(done));
    assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
    const survivor = workers.find((w) => w !== owner)!;
    assert.ok(survivor.lines.some((l) => l.msg === "job started" && l.jobId === id));
    const metrics = (await call("GET", `/v1/jobs/${id}/metrics`)).body.items;
    assert.equal(metrics.length, 1);
    workers = workers.filter((w) => w !== owner);
  });

  it("cancels a running job within seconds", EACH, async () => {
    const r = await call("POST", "/v1/jobs", SLOW_EVALUATE);
    const id = r.body.id;
    await until("running", async () => (await call("GET", `/v1/jobs/${id}`)).body.progress > 0, 60_000);
    const t = Date.now();
    assert.equal((await call("POST", `/v1/jobs/${id}/cancel`)).status, 200);
    const done = await waitJob(id, 20_000);
    assert.equal(done.state, "cancelled");
    assert.ok(Date.now() - t < 10_000, `took ${Date.now() - t} ms`);
    assert.equal((await call("GET", `/v1/jobs/${id}/metrics`)).body.items.length, 0);
    assert.equal((await call("POST", `/v1/jobs/${id}/cancel`)).status, 409);
    const retried = await call("POST", `/v1/jobs/${id}/retry`);
    assert.equal(retried.body.state, "queued");
    await call("POST", `/v1/jobs/${id}/cancel`);
  });

  it(
    "fails cleanly when S3 uploads fail: retried, then failed, no rows and no objects left",
    EACH,
    async () => {
      // A worker whose output bucket does not exist (the input model is read from its s3:// URI).
      const faultPrefix = `${prefix}-fault`;
      const w = stack.spawnWorker({ QUEUE_PREFIX: faultPrefix, S3_BUCKET: "no-such-bucket" });
      await w.ready;
      const queues = new JobQueues({ redisUrl: REDIS_URL, prefix: faultPrefix, attempts: 2, backoffMs: 300 });
      try {
        // Straight onto this worker's queue (not through the outbox, whose relay serves the API's prefix).
        const direct = { dispatch: (jobs: DispatchJob[]) => queues.add(jobs), cancel: async () => {} };
        const { job } = await submitJob(db.prisma, direct, teamId, {
          kind: "prune",
          model: "tiny",
          blocks: [3],
        });
        const done = await waitJob(job.id);
        assert.equal(done.state, "failed");
        assert.equal(done.attempts, 2, "a transient error is retried");
        assert.match(done.reason, /bucket/i);
        assert.equal(await db.prisma.modelVersion.count({ where: { producedByJobId: job.id } }), 0);
        assert.equal(await db.prisma.artifact.count({ where: { jobId: job.id } }), 0);
        const store = s3rverStore(s3.endpoint, BUCKET);
        assert.equal((await store.list(`teams/${teamId}/jobs/${job.id}/`)).length, 0);
      } finally {
        await queues.close();
      }
      // SIGTERM: the worker stops taking jobs and exits cleanly.
      w.child.kill("SIGTERM");
      assert.equal(await w.exited, 0);
      assert.ok(w.lines.some((l) => l.msg === "stopped"));
    },
  );
});
