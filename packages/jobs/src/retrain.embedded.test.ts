// The retrain job in embedded mode (PGlite in memory + a local folder) on the shipped demo model: a LoRA
// run stopped mid-way resumes from its saved state on "another machine" (a second cache folder) and ends
// with the very weights of an uninterrupted run; bad input fails at once; CPT publishes its weights.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type LocalStore, type OpenedDb, requestCancel } from "@shortened/adapters";
import type { ProgressSink } from "@shortened/contracts";
import { InProcessDispatcher } from "./embedded.js";
import { jobStatePrefix } from "./keys.js";
import { JobCancelled, runJob } from "./runner.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

/** Submits jobs without running them (the test runs them by hand). */
const holdDispatcher = { dispatch: async () => {}, cancel: async () => {} };

const loraSpec = {
  kind: "retrain",
  model: "tiny@1",
  method: "lora",
  data: { dataset: "alpaca", maxItems: 24 },
  steps: 6,
  batch: 2,
  seqLen: 160,
  lr: 5e-4,
  warmup: 1,
  targets: ["q_proj", "v_proj", "down_proj"],
  checkpointEvery: 2,
  threads: 1,
} as const;

describe("retrain job (embedded)", { timeout: 240_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let baseId: string;

  before(async () => {
    ({ db, dir, store, teamId, baseId } = await openEmbeddedSetup("shortened-retrain-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const outputs = async (jobId: string) => {
    const job = await db.prisma.job.findUniqueOrThrow({
      where: { id: jobId },
      include: { outputVersion: true },
    });
    const files = await db.prisma.artifact.findMany({ where: { jobId } });
    const bytes = (name: string) => readFileSync(store.pathOf(files.find((f) => f.name === name)!.key));
    return { job, files, bytes };
  };

  it("resumes a stopped LoRA run from its saved state and ends with the weights of an uninterrupted run", async () => {
    // Uninterrupted reference.
    const d = new InProcessDispatcher(db.prisma, store, join(dir, "cache-a"), {});
    const { job: ref } = await submitJob(db.prisma, d, teamId, loraSpec);
    const a = await outputs(ref.id);
    assert.equal(a.job.state, "succeeded", a.job.reason ?? "");

    // The same spec, stopped by its signal after step 3 (the state of step 2 is saved)...
    const { job } = await submitJob(db.prisma, holdDispatcher, teamId, loraSpec);
    const stop = new AbortController();
    const watcher: ProgressSink = {
      progress: (_f, message) => {
        if (message?.startsWith("lora step 3/")) stop.abort(new Error("worker killed"));
      },
      log: () => {},
    };
    await assert.rejects(
      runJob(
        { db: db.prisma, store, cacheDir: join(dir, "cache-b"), signal: stop.signal, progress: watcher },
        job.id,
      ),
    );
    assert.equal((await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).state, "running");
    assert.ok((await store.list(jobStatePrefix(teamId, job.id))).length > 0, "state kept in the store");

    // ...then taken over by another worker with its own cache folder.
    const out = await runJob({ db: db.prisma, store, cacheDir: join(dir, "cache-c") }, job.id);
    assert.equal(out.status, "succeeded");
    const b = await outputs(job.id);
    assert.equal(b.job.attempts, 2);
    const phases = (b.job.result as { phases: { resumedFrom: number; losses: number[] }[] }).phases;
    assert.equal(phases[0]!.resumedFrom, 2);
    const refLosses = (a.job.result as { phases: { losses: number[] }[] }).phases[0]!.losses;
    assert.deepEqual(phases[0]!.losses, refLosses);
    assert.ok(b.bytes("adapter_model.safetensors").equals(a.bytes("adapter_model.safetensors")));
    const merged = (r: typeof a) =>
      readFileSync(store.pathOf(`${r.job.outputVersion!.storagePrefix}model.safetensors`));
    assert.ok(merged(b).equals(merged(a)), "merged weights bit-identical");
    assert.deepEqual(await store.list(jobStatePrefix(teamId, job.id)), [], "state removed after success");

    // What the registry holds: a merged version under the base, its recipe, curve and final loss.
    const v = a.job.outputVersion!;
    assert.equal(v.kind, "merged");
    assert.equal(v.parentId, baseId);
    const recipe = v.recipe as Record<string, unknown>;
    assert.equal(recipe.method, "lora");
    assert.equal(recipe.r, 8);
    assert.deepEqual(recipe.targets, ["q_proj", "v_proj", "down_proj"]);
    assert.equal((recipe.data as { source: string }).source, "shipped:alpaca");
    assert.deepEqual(
      a.files
        .filter((f) => !f.versionId)
        .map((f) => f.name)
        .sort(),
      ["adapter_config.json", "adapter_model.safetensors", "training_curve.json", "training_curve.svg"],
    );
    const curve = JSON.parse(a.bytes("training_curve.json").toString("utf8")) as { steps: unknown[] };
    assert.equal(curve.steps.length, 6);
    const [loss] = await db.prisma.metric.findMany({ where: { jobId: ref.id } });
    assert.equal(loss!.name, "train_loss");
    assert.equal(loss!.versionId, v.id);
    assert.equal(loss!.value, refLosses.at(-1));
    const events = await db.prisma.jobEvent.findMany({ where: { jobId: job.id } });
    assert.ok(events.some((e) => /resumed from step 2/.test(JSON.stringify(e.data))));
    assert.ok(
      events.some((e) => /lora step \d+\/6 loss [\d.]+ lr [\d.e+-]+ .* tok\/s/.test(JSON.stringify(e.data))),
    );
  });

  it("cpt+lora keeps the finished CPT phase across a restart and merges the adapter into the CPT weights", async () => {
    const spec = {
      ...loraSpec,
      method: "cpt+lora",
      data: { dataset: "tinystories", maxItems: 8 },
      seqLen: 32,
      steps: 3,
      checkpointEvery: 1,
    } as const;
    const { job } = await submitJob(db.prisma, holdDispatcher, teamId, spec);
    const stop = new AbortController();
    const watcher: ProgressSink = {
      progress: (_f, message) => {
        if (message?.startsWith("lora step 2/")) stop.abort(new Error("worker killed"));
      },
      log: () => {},
    };
    await assert.rejects(
      runJob(
        { db: db.prisma, store, cacheDir: join(dir, "cache-d"), signal: stop.signal, progress: watcher },
        job.id,
      ),
    );
    await runJob({ db: db.prisma, store, cacheDir: join(dir, "cache-e") }, job.id);
    const { job: done, bytes, files } = await outputs(job.id);
    assert.equal(done.state, "succeeded", done.reason ?? "");
    assert.equal(done.outputVersion!.kind, "merged");
    assert.deepEqual(
      files.filter((f) => f.name === "training_curve.json").map((f) => f.versionId),
      [null],
      "the curve is a job artifact, not a checkpoint file",
    );
    const phases = (done.result as { phases: { phase: string; resumedFrom: number }[] }).phases;
    assert.deepEqual(
      phases.map((p) => [p.phase, p.resumedFrom]),
      [
        ["cpt", 3],
        ["lora", 2],
      ],
    );
    const curve = JSON.parse(bytes("training_curve.json").toString("utf8")) as { steps: { phase: string }[] };
    assert.deepEqual(
      curve.steps.map((p) => p.phase),
      ["cpt", "cpt", "cpt", "lora", "lora", "lora"],
    );
  });

  it("stops within a second when its cancellation is requested", async () => {
    const { job } = await submitJob(db.prisma, holdDispatcher, teamId, { ...loraSpec, steps: 200 });
    let cancelAt = 0;
    const watcher: ProgressSink = {
      progress: (_f, message) => {
        if (!cancelAt && message?.startsWith("lora step 2/")) {
          cancelAt = Date.now();
          void requestCancel(db.prisma, teamId, job.id);
        }
      },
      log: () => {},
    };
    await assert.rejects(
      runJob(
        { db: db.prisma, store, cacheDir: join(dir, "cache-a"), progress: watcher, cancelPollMs: 100 },
        job.id,
      ),
      JobCancelled,
    );
    assert.ok(Date.now() - cancelAt < 1500, `stopped after ${Date.now() - cancelAt} ms`);
    assert.equal(await db.prisma.modelVersion.count({ where: { producedByJobId: job.id } }), 0);
  });

  it("refuses an unknown target module at submission, with its reason, recording nothing", async () => {
    const d = new InProcessDispatcher(db.prisma, store, join(dir, "cache-a"), {});
    const jobs = await db.prisma.job.count();
    await assert.rejects(
      submitJob(db.prisma, d, teamId, { ...loraSpec, targets: ["q_proj", "qkv_proj"] }),
      (e: Error & { code?: string; status?: number }) =>
        e.code === "bad_request" && /unknown LoRA target qkv_proj: this model has q_proj/.test(e.message),
    );
    assert.equal(await db.prisma.job.count(), jobs);
  });

  it("continued pretraining on raw text publishes the trained weights as a retrained version", async () => {
    const d = new InProcessDispatcher(db.prisma, store, join(dir, "cache-a"), {});
    const { job } = await submitJob(db.prisma, d, teamId, {
      kind: "retrain",
      model: "tiny@1",
      method: "cpt",
      data: { dataset: "tinystories", maxItems: 8 },
      steps: 2,
      batch: 2,
      seqLen: 32,
      lr: 1e-3,
      threads: 1,
    });
    const { job: done, files } = await outputs(job.id);
    assert.equal(done.state, "succeeded", done.reason ?? "");
    assert.equal(done.outputVersion!.kind, "retrained");
    const names = files.filter((f) => f.versionId).map((f) => f.name);
    assert.ok(names.includes("model.safetensors") && names.includes("config.json"));
    assert.ok(!names.includes("training_curve.json"));
    assert.equal((done.outputVersion!.recipe as { method: string }).method, "cpt");
  });
});
