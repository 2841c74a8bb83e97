// Distilled retraining as a job (embedded mode, the shipped demo model): the teacher defaults to the nearest
// unpruned ancestor (the base of a pruned version), is recorded in the recipe, the job summary and the
// metrics' protocol; KD and cross-entropy are reported per step (progress events, training_curve.json) and
// as metrics; a run stopped mid-way resumes on another worker to the same adapter bytes; a model without an
// unpruned ancestor is refused with the reason.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import type { ProgressSink } from "@shortened/contracts";
import type { InProcessDispatcher } from "./embedded.js";
import { runJob } from "./runner.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

const holdDispatcher = { dispatch: async () => {}, cancel: async () => {} };

describe("distilled retrain job (embedded)", { timeout: 240_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let baseId: string;
  let dispatcher: InProcessDispatcher;

  before(async () => {
    ({ db, dir, store, teamId, baseId, dispatcher } = await openEmbeddedSetup("shortened-distill-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const spec = {
    kind: "retrain",
    model: "tiny@2",
    method: "lora",
    data: { dataset: "tinystories", maxItems: 8 },
    seqLen: 32,
    steps: 4,
    batch: 2,
    lr: 1e-3,
    targets: ["q_proj", "v_proj"],
    merge: false,
    checkpointEvery: 1,
    threads: 1,
    distill: { alpha: 0.5, temperature: 2, topK: 16 },
  } as const;

  it("distills a pruned version from its base, recording the teacher and KD/CE per step", async () => {
    const { job: pruneJob } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "prune",
      model: "tiny@1",
      blocks: [3, 4],
    });
    assert.equal((await db.prisma.job.findUniqueOrThrow({ where: { id: pruneJob.id } })).state, "succeeded");

    const { job } = await submitJob(db.prisma, dispatcher, teamId, spec);
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const recipe = done.outputVersion!.recipe as { distill: Record<string, unknown> };
    assert.deepEqual(recipe.distill, {
      teacherVersionId: baseId,
      teacher: "tiny@1",
      alpha: 0.5,
      temperature: 2,
      topK: 16,
    });
    assert.deepEqual((done.result as { distill: unknown }).distill, recipe.distill);

    const files = await db.prisma.artifact.findMany({ where: { jobId: job.id } });
    const curveFile = files.find((f) => f.name === "training_curve.json")!;
    const curve = JSON.parse(readFileSync(store.pathOf(curveFile.key), "utf8")) as {
      steps: { loss: number; kdLoss: number; ceLoss: number }[];
    };
    assert.equal(curve.steps.length, 4);
    for (const s of curve.steps) {
      assert.ok(s.kdLoss > 0 && s.ceLoss > 0);
      assert.ok(Math.abs(s.loss - (0.5 * s.kdLoss + 0.5 * s.ceLoss)) < 1e-9 * s.loss);
    }
    const metrics = await db.prisma.metric.findMany({ where: { jobId: job.id } });
    const byName = new Map(metrics.map((m) => [m.name, m]));
    assert.deepEqual([...byName.keys()].sort(), ["train_ce_loss", "train_kd_loss", "train_loss"]);
    assert.equal(byName.get("train_kd_loss")!.value, curve.steps[3]!.kdLoss);
    for (const m of metrics) assert.deepEqual((m.protocol as { distill: unknown }).distill, recipe.distill);
    const events = await db.prisma.jobEvent.findMany({ where: { jobId: job.id, type: "progress" } });
    assert.ok(events.some((e) => typeof (e.data as { kdLoss?: number }).kdLoss === "number"));

    // Stopped after step 2, taken over by another worker: the same adapter bytes.
    const { job: again } = await submitJob(db.prisma, holdDispatcher, teamId, spec);
    const stop = new AbortController();
    const watcher: ProgressSink = {
      progress: (_f, message) => {
        if (message?.startsWith("lora step 2/")) stop.abort(new Error("worker killed"));
      },
      log: () => {},
    };
    await assert.rejects(
      runJob(
        { db: db.prisma, store, cacheDir: join(dir, "cache-b"), signal: stop.signal, progress: watcher },
        again.id,
      ),
    );
    const out = await runJob({ db: db.prisma, store, cacheDir: join(dir, "cache-c") }, again.id);
    assert.equal(out.status, "succeeded");
    const adapter = async (id: string) => {
      const f = (await db.prisma.artifact.findMany({ where: { jobId: id } })).find(
        (a) => a.name === "adapter_model.safetensors",
      )!;
      return readFileSync(store.pathOf(f.key));
    };
    assert.ok((await adapter(again.id)).equals(await adapter(job.id)), "adapter bytes equal");
  });

  it("refuses to distill a model without an unpruned ancestor, with the reason", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, { ...spec, model: "tiny@1" });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "failed");
    assert.match(done.reason ?? "", /no unpruned ancestor.*distill\.teacher/);
  });
});
