// An importance job records its calibration by name and content hash (not the temporary copy of the text
// in its work folder), so two jobs' protocols match exactly when they drew from the same text.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { OpenedDb } from "@shortened/adapters";
import type { InProcessDispatcher } from "./embedded.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("importance job protocol", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let dispatcher: InProcessDispatcher;
  let teamId: string;

  before(async () => {
    ({ db, dir, teamId, dispatcher } = await openEmbeddedSetup("shortened-importance-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const calibrationProtocol = async (calibration: Record<string, unknown>) => {
    const { job } = await submitJob(db.prisma, dispatcher, teamId, {
      kind: "importance",
      model: "tiny",
      criterion: "ppl",
      calibration: { n: 2, seqLen: 16, ...calibration },
    });
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const metric = await db.prisma.metric.findFirstOrThrow({
      where: { jobId: job.id, name: "calibration_ppl" },
    });
    return metric.protocol as Record<string, unknown>;
  };

  it("names a shipped dataset and a given text by name and hash, never by the job's folder", async () => {
    const shipped = await calibrationProtocol({ dataset: "tinystories" });
    assert.equal(shipped.source, "tinystories");
    assert.match(String(shipped.textSha256), /^[0-9a-f]{64}$/);
    const text = "Once upon a time there was a little dog. It liked to run in the park with its friends.";
    const given = await calibrationProtocol({ text });
    assert.equal(given.source, "text");
    assert.equal(given.textSha256, createHash("sha256").update(text).digest("hex"));
    for (const p of [shipped, given]) assert.ok(!JSON.stringify(p).includes(dir), JSON.stringify(p));
  });
});
