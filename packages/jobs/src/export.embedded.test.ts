// The export job in embedded mode: a version → model.onnx, model.onnx.data and README.md as the job's
// artifacts, the model byte for byte what file mode (the CLI's `export`, the same handler) writes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LocalStore, OpenedDb } from "@shortened/adapters";
import type { InProcessDispatcher } from "./embedded.js";
import { FolderRun } from "./folder-run.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("export job (embedded)", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let dispatcher: InProcessDispatcher;

  before(async () => {
    ({ db, dir, store, teamId, dispatcher } = await openEmbeddedSetup("shortened-export-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  it("writes the ONNX decoder as artifacts, the same bytes as file mode", async () => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, { kind: "export", model: "tiny" });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    assert.deepEqual((done.result as { files: string[] }).files, [
      "model.onnx",
      "model.onnx.data",
      "README.md",
    ]);
    const arts = await db.prisma.artifact.findMany({ where: { jobId: job.id }, orderBy: { name: "asc" } });
    assert.deepEqual(
      arts.map((a) => a.name),
      ["README.md", "model.onnx", "model.onnx.data"],
    );
    const run = new FolderRun({ model: DEMO_MODEL, near: join(dir, "out") });
    try {
      const r = await run.run("export", {});
      // (README.md names the source, which differs: a version vs a folder.)
      for (const a of r.artifacts.filter((x) => x.name !== "README.md"))
        assert.deepEqual(
          readFileSync(a.path),
          readFileSync(store.pathOf(arts.find((x) => x.name === a.name)!.key)),
          `${a.name} differs`,
        );
    } finally {
      run.close();
    }
  });

  it("refuses an unknown dtype at submission", async () => {
    await assert.rejects(
      submitJob(db.prisma, dispatcher, teamId, { kind: "export", model: "tiny", dtype: "bfloat16" }),
      /dtype/,
    );
  });
});
