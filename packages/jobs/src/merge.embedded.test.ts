// The merge job in embedded mode: a LoRA adapter version (retrain with merge false) folded into its base
// gives the bytes of the retrain job's own merged output, and of file mode (the CLI's `merge`).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import type { InProcessDispatcher } from "./embedded.js";
import { FolderRun } from "./folder-run.js";
import { submitJob } from "./submit.js";
import {
  closeEmbeddedSetup,
  DEMO_MODEL,
  openEmbeddedSetup,
  readVersionFile,
} from "./test-support/embedded-setup.js";

const lora = {
  kind: "retrain",
  model: "tiny@1",
  method: "lora",
  data: { dataset: "alpaca", maxItems: 8 },
  steps: 2,
  batch: 2,
  seqLen: 128,
  lr: 1e-3,
  targets: ["q_proj", "v_proj"],
  checkpointEvery: 0,
  threads: 1,
} as const;

describe("merge job (embedded)", { timeout: 300_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let baseId: string;
  let dispatcher: InProcessDispatcher;

  before(async () => {
    ({ db, dir, store, teamId, baseId, dispatcher } = await openEmbeddedSetup("shortened-merge-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const versionFile = (versionId: string, name: string) => readVersionFile({ db, store }, versionId, name);
  const succeeded = async (jobId: string) => {
    const job = await db.prisma.job.findUniqueOrThrow({
      where: { id: jobId },
      include: { outputVersion: true },
    });
    assert.equal(job.state, "succeeded", job.reason ?? "");
    return { ...job, outputVersionId: job.outputVersion!.id };
  };

  it("folds an adapter version into its base: the bytes of retrain's merged output and of file mode", async () => {
    const merged = await succeeded(
      (await submitJob(db.prisma, dispatcher, teamId, { ...lora, merge: true })).job.id,
    );
    const adapter = await succeeded(
      (await submitJob(db.prisma, dispatcher, teamId, { ...lora, merge: false })).job.id,
    );
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "merge",
      model: "tiny@1",
      adapter: adapter.outputVersionId,
    });
    const done = await succeeded(job.id);
    const v = await db.prisma.modelVersion.findUniqueOrThrow({ where: { id: done.outputVersionId } });
    assert.equal(v.kind, "merged");
    assert.equal(v.parentId, baseId);
    assert.equal((v.recipe as { adapterVersionId: string }).adapterVersionId, adapter.outputVersionId);
    const bytes = await versionFile(v.id, "model.safetensors");
    assert.ok(bytes.equals(await versionFile(merged.outputVersionId, "model.safetensors")));
    // Both inputs stay in the worker's version cache, and the attempt released its pins on them when it ended.
    const versions = join(dir, "cache", "versions");
    for (const id of [baseId, adapter.outputVersionId])
      assert.ok(existsSync(join(versions, id, ".complete")), id);
    assert.deepEqual(readdirSync(join(versions, ".pins")), []);

    // File mode: the adapter's files as a folder.
    const adapterDir = join(dir, "adapter");
    mkdirSync(adapterDir, { recursive: true });
    for (const name of ["adapter_config.json", "adapter_model.safetensors"]) {
      writeFileSync(join(adapterDir, name), await versionFile(adapter.outputVersionId, name));
    }
    const run = new FolderRun({ model: DEMO_MODEL, versions: { a: adapterDir } });
    try {
      const r = await run.run("merge", { adapter: "a" });
      assert.ok(readFileSync(join(r.version!.dir, "model.safetensors")).equals(bytes));
    } finally {
      run.close();
    }
  });

  it("refuses an adapter that is not a retrained version", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "merge",
      model: "tiny@1",
      adapter: "tiny@1",
    });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "failed");
    assert.match(done.reason ?? "", /not a retrained LoRA adapter/);
  });
});
