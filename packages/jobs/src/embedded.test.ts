// Embedded mode (PGlite in memory + a local folder): the same submission, runner and handlers as the
// service, on the shipped demo model.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalStore, type OpenedDb, sha256File } from "@shortened/adapters";
import { InProcessDispatcher } from "./embedded.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

/** A store whose second upload fails, to check that a failed publish leaves nothing behind. */
class FailingStore extends LocalStore {
  puts = 0;
  override async putFile(key: string, path: string, type?: string) {
    if (++this.puts === 2) throw new Error("simulated upload failure");
    return super.putFile(key, path, type);
  }
}

describe("embedded mode", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let dispatcher: InProcessDispatcher;
  let teamId: string;
  let baseId: string;

  before(async () => {
    ({ db, dir, store, teamId, baseId, dispatcher } = await openEmbeddedSetup("shortened-embedded-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  it("prunes explicit blocks into a new version whose parent is the base", async () => {
    const { job } = await submitJob(
      db.prisma,
      dispatcher,
      teamId,
      { kind: "prune", model: "tiny", blocks: [2, 5] },
      { idempotencyKey: "k1" },
    );
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const v = done.outputVersion!;
    assert.equal(v.parentId, baseId);
    assert.equal(v.number, 2);
    assert.deepEqual((v.recipe as { removed: number[] }).removed, [2, 5]);
    const files = await db.prisma.artifact.findMany({ where: { versionId: v.id } });
    const config = files.find((f) => f.name === "config.json")!;
    assert.equal(JSON.parse(readFileSync(store.pathOf(config.key), "utf8")).num_hidden_layers, 6);
    for (const f of files) assert.equal(await sha256File(store.pathOf(f.key)), f.sha256, f.name);

    const again = await submitJob(
      db.prisma,
      dispatcher,
      teamId,
      { kind: "prune", model: "tiny@1", blocks: [1] },
      { idempotencyKey: "k1" },
    );
    assert.equal(again.created, false);
    assert.equal(again.job.id, job.id);
  });

  it("refuses bad input the registry can tell at submission, with its reason and code, recording nothing", async () => {
    const jobs = await db.prisma.job.count();
    await assert.rejects(
      submitJob(db.prisma, dispatcher, teamId, { kind: "prune", model: `${baseId}`, blocks: [8] }),
      (e: Error & { code?: string; status?: number }) =>
        e.code === "invalid_blocks" &&
        e.status === 422 &&
        /blocks 8 out of range: the model has 8 blocks/.test(e.message),
    );
    assert.equal(await db.prisma.job.count(), jobs);
  });

  it("benchmarks generation and stores each number with its settings", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "benchmark",
      model: "tiny@1",
      batchSizes: [1],
      promptTokens: 8,
      genTokens: 4,
      repeats: 1,
      warmup: 0,
    });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const metrics = await db.prisma.metric.findMany({ where: { jobId: job.id } });
    assert.deepEqual(metrics.map((m) => m.name).sort(), ["latency_s", "tokens_per_s"]);
    assert.ok(metrics.every((m) => m.value > 0 && m.versionId === baseId));
    assert.equal((metrics[0].protocol as { genTokens: number }).genTokens, 4);
  });

  it("deletes what it uploaded when publishing fails midway", async () => {
    const failing = new FailingStore(store.root);
    const d = new InProcessDispatcher(db.prisma, failing, join(dir, "cache"), {});
    const { job } = await submitJob(db.prisma, d, teamId, { kind: "prune", model: baseId, blocks: [3] });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "failed");
    assert.match(done.reason ?? "", /simulated upload failure/);
    assert.equal(await db.prisma.modelVersion.count({ where: { producedByJobId: job.id } }), 0);
    assert.equal(await db.prisma.artifact.count({ where: { jobId: job.id } }), 0);
    assert.deepEqual(await store.list(`teams/${teamId}/jobs/${job.id}/`), []);
  });
});
