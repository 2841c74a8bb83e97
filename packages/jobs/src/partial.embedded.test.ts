// Partial fine-tuning as a job (embedded mode, the shipped demo model): only the last block, the final norm
// and the head (tied here: the embedding) train; the output version holds every other tensor unchanged; the recipe names what trained.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import { Checkpoint } from "@shortened/hf";
import type { InProcessDispatcher } from "./embedded.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("partial retrain job (embedded)", { timeout: 240_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let dispatcher: InProcessDispatcher;
  before(async () => {
    ({ db, dir, store, teamId, dispatcher } = await openEmbeddedSetup("shortened-partial-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  it("trains only the last block, the final norm and the head", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "retrain",
      model: "tiny@1",
      method: "partial",
      lastBlocks: 1,
      data: { dataset: "tinystories", maxItems: 4 },
      seqLen: 32,
      steps: 2,
      batch: 2,
      lr: 1e-3,
      threads: 1,
    });
    const done = await db.prisma.job.findUniqueOrThrow({
      where: { id: job.id },
      include: { outputVersion: true },
    });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const v = done.outputVersion!;
    assert.equal(v.kind, "retrained");
    const recipe = v.recipe as { method: string; trained: string[]; lastBlocks: number };
    assert.equal(recipe.method, "partial");
    assert.equal(recipe.lastBlocks, 1);
    assert.ok(
      recipe.trained.includes("model.embed_tokens.weight") && recipe.trained.includes("model.norm.weight"),
    );
    assert.ok(recipe.trained.every((n) => !n.startsWith("model.layers.") || n.startsWith("model.layers.7.")));
    const out = Checkpoint.open(join(store.pathOf(v.storagePrefix)));
    const base = Checkpoint.open(DEMO_MODEL);
    for (const name of out.tensors.keys()) {
      const same = Buffer.from(out.readFloat32(name).buffer).equals(
        Buffer.from(base.readFloat32(name).buffer),
      );
      assert.equal(same, !recipe.trained.includes(name), name);
    }
  });
});
