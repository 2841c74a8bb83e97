// Issue 12 item 9, model uploads: a registration cut off by an S3 outage (s3rver killed -9 between two files)
// cannot delete the files it had copied; the sweeper removes them once the store is back and they are older than
// the grace period (a registration still copying is younger), and never touches a registered model's files.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { ArtifactStoreUnavailable, type OpenedDb, openPglite, S3Store } from "@shortened/adapters";
import { localTeamId, OutputSweeper, registerFromFolder } from "@shortened/jobs";
import { type KillableS3, startKillableS3 } from "./helpers/s3-process.js";
import { repoRoot } from "./helpers/service.js";

const DEMO = `${repoRoot}/models/tinystories-llama-8L`;
let db: OpenedDb;
let s3: KillableS3;
let teamId: string;

/** An S3 store whose server is killed right after its `afterPuts`-th stored file (until disarmed). */
class CutStore extends S3Store {
  puts = 0;
  afterPuts = Number.POSITIVE_INFINITY;
  override async putFile(key: string, path: string, type?: string, signal?: AbortSignal) {
    const r = await super.putFile(key, path, type, signal);
    if (++this.puts === this.afterPuts) await s3.kill();
    return r;
  }
}

before(async () => {
  db = await openPglite("memory://");
  teamId = await localTeamId(db.prisma);
  s3 = await startKillableS3();
});
after(async () => {
  await s3?.close();
  await db?.close();
});

it("files of an upload cut off by an outage are swept after the grace period; registered models stay", async () => {
  const store = new CutStore({
    bucket: "models",
    endpoint: s3.endpoint,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
  });
  await store.ensureBucket();
  const kept = await registerFromFolder(db.prisma, store, {
    teamId,
    name: "kept",
    dir: DEMO,
    sourceUri: "test",
  });
  const area = `teams/${teamId}/models/`;
  const keptKeys = (await store.list(area)).map((o) => o.key).sort();
  assert.ok(keptKeys.length >= 3);

  store.puts = 0;
  store.afterPuts = 2; // the third file meets a dead store, and so does the cleanup's delete
  await assert.rejects(
    registerFromFolder(db.prisma, store, { teamId, name: "cut", dir: DEMO, sourceUri: "test" }),
    ArtifactStoreUnavailable,
  );
  store.afterPuts = Number.POSITIVE_INFINITY;
  assert.equal(await db.prisma.model.count({ where: { name: "cut" } }), 0, "nothing registered");
  await s3.start();
  const orphans = (await store.list(area)).map((o) => o.key).filter((k) => !keptKeys.includes(k));
  assert.equal(orphans.length, 2, "the two files copied before the outage are left");

  // Within the grace period an upload may still be copying: left alone.
  assert.equal(await new OutputSweeper(db.prisma, store).sweep(), 0);
  assert.equal((await store.list(area)).length, keptKeys.length + 2);

  // Seven hours later (default grace 6 h): the orphans go, the registered model's files stay.
  const later = () => Date.now() + 7 * 3600_000;
  const sweeper = new OutputSweeper(db.prisma, store, { now: later });
  assert.equal(await sweeper.sweep(), 2);
  assert.deepEqual((await store.list(area)).map((o) => o.key).sort(), keptKeys);
  const artifacts = await db.prisma.artifact.findMany({ where: { versionId: kept.version.id } });
  assert.deepEqual(artifacts.map((a) => a.key).sort(), keptKeys);

  // The upload pass runs at most once an hour (it lists every base model): the next one touches no store.
  await s3.kill();
  assert.equal(await sweeper.uploads.sweepIfDue(), 0);
  await s3.start();
});
