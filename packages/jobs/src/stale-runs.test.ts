// Opening an embedded state folder ends the runs a killed CLI process left behind: `running` jobs (it ran
// them) and `queued` ones (it had submitted them and would have run them next), each with the reason
// "interrupted"; jobs of a process that still runs are left alone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { endJob, type OpenedDb, removeOwner } from "@shortened/adapters";
import { claimRun, failStaleRuns, ownerFile } from "./stale-runs.js";
import { type Dispatcher, retryJob, submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

const idle = { dispatch: async () => {}, cancel: async () => {} };
const ownerModule = new URL("../../adapters/src/process-owner.ts", import.meta.url).pathname;

/** Records a process that then exits as the owner of `jobId` (a CLI killed before it ran the job). */
function claimByDeadProcess(runsDir: string, jobId: string): void {
  const code = `import(${JSON.stringify(ownerModule)}).then((m) => m.writeOwner(${JSON.stringify(ownerFile(runsDir, jobId))}))`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

describe("stale embedded runs", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let teamId: string;
  let runsDir: string;

  before(async () => {
    ({ db, dir, teamId } = await openEmbeddedSetup("shortened-stale-"));
    runsDir = join(dir, "runs");
    mkdirSync(runsDir);
  });
  after(() => closeEmbeddedSetup(db, dir));

  const submit = async (spec: Record<string, unknown>) =>
    (await submitJob(db.prisma, idle, teamId, spec)).job.id;
  const row = (id: string) => db.prisma.job.findUniqueOrThrow({ where: { id } });
  const pipeline = {
    kind: "pipeline",
    model: "tiny",
    prune: { blocks: [3] },
    evaluate: [{ dataset: "wikitext2", maxTokens: 64 }],
  };

  it("fails a queued job whose submitting process is gone, and removes its record", async () => {
    const id = await submit({ kind: "prune", model: "tiny", blocks: [2] });
    claimByDeadProcess(runsDir, id);
    assert.ok((await failStaleRuns(db.prisma, runsDir)).includes(id));
    const job = await row(id);
    assert.equal(job.state, "failed");
    assert.equal(job.errorCode, "interrupted");
    assert.match(
      job.reason ?? "",
      /^interrupted: the process that submitted it \(pid \d+\) ended before the job started/,
    );
    assert.ok(!existsSync(ownerFile(runsDir, id)), "the stale record is gone");
  });

  it("fails a queued pipeline whose process is gone, its queued steps with it", async () => {
    const id = await submit(pipeline);
    claimByDeadProcess(runsDir, id);
    await failStaleRuns(db.prisma, runsDir);
    assert.equal((await row(id)).state, "failed");
    const steps = await db.prisma.job.findMany({ where: { parentJobId: id } });
    assert.ok(steps.length >= 2);
    for (const s of steps) assert.equal(s.state, "cancelled", s.kind);
  });

  it("fails a queued job that no process ever claimed (killed before it could)", async () => {
    const id = await submit({ kind: "prune", model: "tiny", blocks: [4] });
    await failStaleRuns(db.prisma, runsDir);
    assert.equal((await row(id)).errorCode, "interrupted");
  });

  it("leaves alone the queued jobs of a live process, steps included, and their records", async () => {
    const id = await submit(pipeline);
    claimRun(runsDir, id);
    const single = await submit({ kind: "prune", model: "tiny", blocks: [5] });
    claimRun(runsDir, single);
    assert.deepEqual(await failStaleRuns(db.prisma, runsDir), []);
    for (const j of [id, single]) assert.equal((await row(j)).state, "queued");
    for (const s of await db.prisma.job.findMany({ where: { parentJobId: id } }))
      assert.equal(s.state, "queued");
    assert.ok(existsSync(ownerFile(runsDir, id)) && existsSync(ownerFile(runsDir, single)));
  });

  it("a retried job is its process's from the requeue on: a second CLI opening the folder then leaves it queued", async () => {
    const id = await submit(pipeline);
    claimByDeadProcess(runsDir, id);
    await failStaleRuns(db.prisma, runsDir);
    assert.equal((await row(id)).errorCode, "interrupted");
    // The dispatcher claims as the embedded one does; its dispatch is the moment after the requeue and before
    // the dispatcher records the jobs it will run: there a second CLI opens the folder (failStaleRuns).
    let second: string[] | undefined;
    const states: string[] = [];
    const dispatcher: Dispatcher = {
      claim: (rootId) => claimRun(runsDir, rootId),
      dispatch: async (jobs) => {
        second = await failStaleRuns(db.prisma, runsDir);
        for (const j of jobs) states.push((await row(j.id)).state);
      },
      cancel: async () => {},
    };
    await retryJob(db.prisma, dispatcher, teamId, id);
    assert.deepEqual(second, [], "the second CLI failed none of the retried jobs");
    assert.ok(states.length >= 3, "the pipeline and its steps were dispatched");
    assert.deepEqual(new Set(states), new Set(["queued"]));
    // a retry refused (the job is queued now) claims nothing
    removeOwner(ownerFile(runsDir, id));
    await assert.rejects(retryJob(db.prisma, dispatcher, teamId, id), /only failed or cancelled/);
    assert.ok(!existsSync(ownerFile(runsDir, id)));
    await endJob(db.prisma, id, "cancelled", "cancelled", "cancelled");
  });
});
