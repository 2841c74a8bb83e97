// Cancel requests that land at awkward moments of an attempt (issue 12: "Cancel all" in the playground left
// a job `queued` for ever). The runner polls for a cancel once a second; a request that lands after the
// last poll, or while the job moves from queued to running, must still end the job cancelled.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type LocalStore, type OpenedDb, type PrismaClient, requestCancel } from "@shortened/adapters";
import type { HandlerResult, Ports } from "@shortened/contracts";
import type { HandlerTable } from "./handlers/index.js";
import { JobCancelled, runJob } from "./runner.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

const idle = { dispatch: async () => {}, cancel: async () => {} };
const nothing: HandlerResult = { artifacts: [], metrics: [], summary: {} };

describe("cancel requests at awkward moments", { timeout: 120_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let teamId: string;
  let store: LocalStore;

  before(async () => {
    ({ db, dir, teamId, store } = await openEmbeddedSetup("shortened-cancel-"));
  });
  after(() => closeEmbeddedSetup(db, dir));

  const submit = async () =>
    (await submitJob(db.prisma, idle, teamId, { kind: "evaluate", model: "tiny" })).job.id;
  const run = (id: string, handler: (spec: unknown, ports: Ports) => Promise<HandlerResult>) =>
    runJob(
      {
        db: db.prisma,
        store,
        cacheDir: join(dir, "cache"),
        handlers: { evaluate: handler } as unknown as HandlerTable,
        // No poll during the attempt: the request is seen only after the handler finished.
        cancelPollMs: 600_000,
      },
      id,
    );

  it("ends a job cancelled when the request lands after the last poll and the handler then finishes", async () => {
    const id = await submit();
    const out = run(id, async () => {
      const asked = await requestCancel(db.prisma, teamId, id);
      assert.equal(asked.state, "running");
      return nothing;
    });
    // Before: recordSuccess refused the result (JobNoLongerRunning), the worker took it for a transient
    // error and put the job back in the queue, where no attempt may start a job with a cancel request.
    await assert.rejects(out, JobCancelled);
    const row = await db.prisma.job.findUniqueOrThrow({ where: { id } });
    assert.equal(row.result, null, "no result recorded");
    assert.notEqual(row.state, "succeeded");
  });

  it("ends a queued job with a cancel request when an attempt finds it (the request's own end not yet done)", async () => {
    const id = await submit();
    // requestCancel marks the job, then ends a queued one; an attempt may start in between.
    await db.prisma.job.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
    let ran = false;
    await assert.rejects(
      run(id, async () => {
        ran = true;
        return nothing;
      }),
      JobCancelled,
    );
    assert.equal(ran, false, "the handler never ran");
  });

  it("answers 409 to a cancel when the job finished between the request's read and its mark", async () => {
    const id = await submit();
    // The job succeeds just before the request marks it (a worker recording its result at that moment).
    const racing = finishingBeforeMark(db.prisma, id);
    await assert.rejects(requestCancel(racing, teamId, id), /already succeeded/);
    const row = await db.prisma.job.findUniqueOrThrow({ where: { id } });
    assert.equal(row.state, "succeeded");
    assert.equal(row.cancelRequestedAt, null, "a finished job is not marked as asked to cancel");
  });
});

/** The database, where the job `id` succeeds right before the first job.updateMany (the cancel mark). */
function finishingBeforeMark(db: PrismaClient, id: string): PrismaClient {
  let done = false;
  const job = new Proxy(db.job, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== "updateMany" || typeof value !== "function") return value;
      return async (args: Parameters<typeof db.job.updateMany>[0]) => {
        if (!done) {
          done = true;
          await db.job.update({ where: { id }, data: { state: "succeeded", finishedAt: new Date() } });
        }
        return db.job.updateMany(args);
      };
    },
  });
  return new Proxy(db, { get: (t, p, r) => (p === "job" ? job : Reflect.get(t, p, r)) });
}
