// A checkpoint that turns poisonous after registration (a version stored before validation existed, or its
// files changed in the store) fails its own job with the reason, before anything is sized from it; the
// same dispatcher then runs the next job. The worker's guard is the one registration uses: Checkpoint.open.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import type { InProcessDispatcher } from "./embedded.js";
import { registerFromFolder } from "./models.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("a poisoned checkpoint fails one job", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let dispatcher: InProcessDispatcher;

  before(async () => {
    ({ db, dir, store, teamId, dispatcher } = await openEmbeddedSetup("shortened-poison-"));
    const { version } = await registerFromFolder(db.prisma, store, {
      teamId,
      name: "poison",
      dir: DEMO_MODEL,
      sourceUri: "test",
    });
    // num_hidden_layers 1e9 once exhausted the heap of every worker that took the job
    const config = await db.prisma.artifact.findFirstOrThrow({
      where: { versionId: version.id, name: "config.json" },
    });
    const path = store.pathOf(config.key);
    writeFileSync(
      path,
      JSON.stringify({ ...JSON.parse(readFileSync(path, "utf8")), num_hidden_layers: 1e9 }),
    );
  });
  after(() => closeEmbeddedSetup(db, dir));

  it("fails with a reason; the next job on a good model succeeds", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "prune",
      model: "poison",
      blocks: [1],
    });
    const failed = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(failed.state, "failed");
    assert.match(
      failed.reason ?? "",
      /"num_hidden_layers" must be an integer from 1 to 1024 \(got 1000000000\)/,
    );
    const next = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "prune",
      model: "tiny",
      blocks: [1],
    });
    const ok = await db.prisma.job.findUniqueOrThrow({ where: { id: next.job.id } });
    assert.equal(ok.state, "succeeded", ok.reason ?? "");
  });
});
