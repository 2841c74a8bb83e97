// A parent's progress (pipeline or study) from its children never steps back: a study that adds a phase of
// children (more shares) or a child restarted by a retry keeps the bar where it was.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { OpenedDb } from "@shortened/adapters";
import { pipelineProgress } from "./progress.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

describe("parent progress", () => {
  let db: OpenedDb;
  let dir: string;
  let teamId: string;
  before(async () => {
    ({ db, dir, teamId } = await openEmbeddedSetup("shortened-progress-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  it("rises with its children and never steps back when a phase adds children", async () => {
    const job = (data: object) =>
      db.prisma.job.create({ data: { teamId, kind: "study", spec: {}, ...data } });
    const study = await job({ state: "running" });
    const child = (state: "succeeded" | "running" | "queued", progress = 0) =>
      job({ kind: "importance", state, progress, parentJobId: study.id });
    const progress = async () =>
      (await db.prisma.job.findUniqueOrThrow({ where: { id: study.id } })).progress;

    await child("succeeded", 1);
    const running = await child("running", 0.5);
    await pipelineProgress(db.prisma, study.id);
    assert.equal(await progress(), 0.5); // (1 + 0.5) / 3
    // the next phase adds four children: (1 + 0.5) / 7 would step back
    for (let i = 0; i < 4; i++) await child("queued");
    await pipelineProgress(db.prisma, study.id);
    assert.equal(await progress(), 0.5);
    // it moves again once the children are further than before
    await db.prisma.job.update({ where: { id: running.id }, data: { state: "succeeded", progress: 1 } });
    for (const c of await db.prisma.job.findMany({ where: { parentJobId: study.id, state: "queued" } }))
      await db.prisma.job.update({ where: { id: c.id }, data: { state: "succeeded", progress: 1 } });
    await pipelineProgress(db.prisma, study.id);
    assert.equal(await progress(), 0.8571); // 6 children done of 6 + the study's closing run
  });
});
