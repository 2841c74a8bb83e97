// S3 partial failures (issue 12 item 9), in embedded mode with a store that goes down mid-publish: the
// job fails with "artifact store unavailable" (no endpoint in the reason), the attempt could not delete
// what it had uploaded, and the sweeper removes those leftovers once the store is back.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { ArtifactStoreUnavailable, LocalStore, type OpenedDb } from "@shortened/adapters";
import { InProcessDispatcher } from "./embedded.js";
import { jobOutputPrefix } from "./keys.js";
import { OutputSweeper } from "./output-sweeper.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, openEmbeddedSetup } from "./test-support/embedded-setup.js";

/** A local store that is "down" from its second upload on, until `up()`: uploads and deletes fail. */
class OutageStore extends LocalStore {
  private puts = 0;
  down = false;
  override async putFile(key: string, path: string, type?: string) {
    if (++this.puts >= 2) this.down = true;
    if (this.down) throw new ArtifactStoreUnavailable("upload");
    return super.putFile(key, path, type);
  }
  override async delete(keys: string[]) {
    if (this.down) throw new ArtifactStoreUnavailable("delete");
    return super.delete(keys);
  }
}

let db: OpenedDb;
let dir: string;
let store: OutageStore;
let teamId: string;

before(async () => {
  const s = await openEmbeddedSetup("shortened-sweeper-");
  ({ db, dir, teamId } = s);
  store = new OutageStore(join(dir, "artifacts"));
});
after(() => closeEmbeddedSetup(db, dir));

it("a job cut off by a store outage fails with a clean reason; the sweeper removes its leftovers", async () => {
  const dispatcher = new InProcessDispatcher(db.prisma, store, join(dir, "cache"), {});
  const { job } = await submitJob(db.prisma, dispatcher, teamId, {
    kind: "prune",
    model: "tiny",
    blocks: [3],
  });
  const row = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
  assert.equal(row.state, "failed");
  assert.match(row.reason!, /^artifact store unavailable \(upload\)/);
  assert.doesNotMatch(row.reason!, /127\.0\.0\.1|ECONNREFUSED|http/);
  assert.equal(await db.prisma.artifact.count({ where: { jobId: job.id } }), 0);
  const prefix = jobOutputPrefix(teamId, job.id);
  const left = await store.list(prefix);
  assert.equal(left.length, 1, "the first upload could not be deleted during the outage");
  assert.ok(left[0].key.startsWith(`${prefix}a1/`), left[0].key);

  const sweeper = new OutputSweeper(db.prisma, store);
  await assert.rejects(
    sweeper.sweep(),
    ArtifactStoreUnavailable,
    "still down: the sweep fails and keeps its mark",
  );
  store.down = false;
  assert.equal(await sweeper.sweep(), 1);
  assert.deepEqual(await store.list(prefix), []);
  assert.equal(await sweeper.sweep(), 0, "nothing left on the next pass");
});
