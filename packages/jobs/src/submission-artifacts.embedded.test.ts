// Artifact keys in a submitted spec (training data, calibration text) are checked at submission where it is
// cheap: the team's own area, no `..`, and the object itself in the store (one listing); while the store
// cannot be asked the submission goes through (the job then fails on it with the store's reason).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { ArtifactStoreUnavailable, LocalStore } from "@shortened/adapters";
import type { Dispatcher } from "./submit.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, type EmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

let s: EmbeddedSetup;
const queued: string[] = [];
const dispatcher: Dispatcher = {
  async dispatch(jobs) {
    queued.push(...jobs.map((j) => j.id));
  },
  async cancel() {},
};

before(async () => {
  s = await openEmbeddedSetup("shortened-submit-artifacts-");
  await s.store.putBytes(`teams/${s.teamId}/data/train.txt`, Buffer.from("Once upon a time."));
});
after(() => closeEmbeddedSetup(s?.db, s?.dir));

const retrain = (artifact: string) => ({
  kind: "retrain",
  model: "tiny",
  method: "lora",
  data: { artifact },
});
const importance = (artifact: string) => ({ kind: "importance", model: "tiny", calibration: { artifact } });

it("accepts an artifact that is in the team's store", async () => {
  const key = `teams/${s.teamId}/data/train.txt`;
  for (const spec of [retrain(key), importance(key)]) {
    const { job } = await submitJob(s.db.prisma, dispatcher, s.teamId, spec, { store: s.store });
    assert.equal(job.state, "queued");
  }
});

it("refuses a missing artifact with 422 and stores nothing", async () => {
  const before = await s.db.prisma.job.count();
  for (const [spec, where] of [
    [retrain(`teams/${s.teamId}/data/nope.txt`), "data.artifact"],
    [importance(`teams/${s.teamId}/data/train.tx`), "calibration.artifact"],
  ] as const)
    await assert.rejects(
      submitJob(s.db.prisma, dispatcher, s.teamId, spec, { store: s.store }),
      (e: { status: number; message: string }) =>
        e.status === 422 && e.message.startsWith(`${where}: no artifact teams/${s.teamId}/data/`),
    );
  await assert.rejects(
    submitJob(s.db.prisma, dispatcher, s.teamId, importance("teams/other/data/x.txt"), { store: s.store }),
    (e: { status: number; message: string }) =>
      e.status === 422 && /calibration\.artifact: .* is not an artifact of this team/.test(e.message),
  );
  assert.equal(await s.db.prisma.job.count(), before);
});

it("lets a submission through while the store cannot be asked", async () => {
  class Down extends LocalStore {
    override async list(): Promise<never> {
      throw new ArtifactStoreUnavailable("list");
    }
  }
  const down = new Down(`${s.dir}/artifacts`);
  const { job } = await submitJob(s.db.prisma, dispatcher, s.teamId, retrain(`teams/${s.teamId}/data/x`), {
    store: down,
  });
  assert.equal(job.state, "queued");
});
