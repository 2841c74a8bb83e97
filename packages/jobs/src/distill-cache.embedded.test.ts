// The teacher's top-K cache as the jobs keep it (embedded mode, the shipped demo model): the first distilled
// job computes it and stores it under its team's teacher-cache/; a later job of another method, α and τ on the
// same teacher, data and seqLen reuses it (the same losses as the first where the settings agree); a corrupt or
// deleted cache is computed again; another team never reads it.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTeam, type LocalStore, type OpenedDb } from "@shortened/adapters";
import { InProcessDispatcher } from "./embedded.js";
import { teacherCachePrefix } from "./keys.js";
import { registerFromFolder } from "./models.js";
import { submitJob } from "./submit.js";
import { closeEmbeddedSetup, DEMO_MODEL, openEmbeddedSetup } from "./test-support/embedded-setup.js";

interface CacheRecord {
  key: string;
  reused: boolean;
  tokens: number;
  bytes: number;
  seconds?: number;
}

describe("teacher top-K cache (embedded)", { timeout: 300_000 }, () => {
  let db: OpenedDb;
  let dir: string;
  let store: LocalStore;
  let teamId: string;
  let dispatcher: InProcessDispatcher;

  before(async () => {
    ({ db, dir, store, teamId } = await openEmbeddedSetup("shortened-kd-cache-"));
    dispatcher = new InProcessDispatcher(db.prisma, store, join(dir, "cache"), {});
  });
  after(() => closeEmbeddedSetup(db, dir));

  const spec = {
    kind: "retrain",
    model: "tiny@2",
    method: "lora",
    data: { dataset: "tinystories", maxItems: 6 },
    seqLen: 32,
    steps: 2,
    batch: 2,
    lr: 1e-3,
    targets: ["q_proj", "v_proj"],
    merge: false,
    threads: 1,
    distill: { alpha: 0.5, temperature: 2, topK: 16 },
  } as const;

  async function run(team: string, s: Record<string, unknown>) {
    const { job } = await submitJob(db.prisma, dispatcher, team, s as never);
    const done = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
    assert.equal(done.state, "succeeded", done.reason ?? "");
    const result = done.result as unknown as {
      teacherCache: CacheRecord;
      phases: { losses: number[] }[];
    };
    return { cache: result.teacherCache, losses: result.phases.at(-1)!.losses };
  }

  async function prune(team: string) {
    const { job } = await submitJob(db.prisma, dispatcher, team, {
      kind: "prune",
      model: "tiny@1",
      blocks: [3, 4],
    });
    assert.equal((await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).state, "succeeded");
  }

  it("computes once, reuses across methods and settings, recomputes a corrupt or missing cache", async () => {
    await prune(teamId);
    const first = await run(teamId, spec);
    assert.equal(first.cache.reused, false);
    assert.ok(first.cache.key.startsWith(teacherCachePrefix(teamId)), first.cache.key);
    const path = store.pathOf(first.cache.key);
    assert.ok(existsSync(path));
    // 32-token rows, K = 16: 8·16 bytes per token after the header
    assert.ok(
      first.cache.bytes > 128 * first.cache.tokens && first.cache.bytes < 128 * first.cache.tokens + 4096,
    );

    const again = await run(teamId, spec);
    const { seconds, ...computed } = first.cache;
    assert.ok(seconds !== undefined && seconds >= 0);
    assert.deepEqual(again.cache, { ...computed, reused: true });
    assert.deepEqual(again.losses, first.losses);
    const other = await run(teamId, {
      ...spec,
      method: "cpt",
      distill: { alpha: 1, temperature: 1, topK: 16 },
    });
    assert.equal(other.cache.reused, true);
    assert.equal(other.cache.key, first.cache.key);

    const bytes = readFileSync(path);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 3]! ^= 0x10;
    writeFileSync(path, corrupt);
    const afterCorrupt = await run(teamId, spec);
    assert.equal(afterCorrupt.cache.reused, false);
    assert.deepEqual(afterCorrupt.losses, first.losses);
    assert.ok(readFileSync(path).equals(bytes), "the recomputed cache is the first one");

    rmSync(path);
    const afterDelete = await run(teamId, spec);
    assert.equal(afterDelete.cache.reused, false);
    assert.ok(readFileSync(path).equals(bytes));
  });

  it("another team computes its own cache and never reads this team's", async () => {
    const { teamId: other } = await createTeam(db.prisma, "other-team");
    await registerFromFolder(db.prisma, store, {
      teamId: other,
      name: "tiny",
      dir: DEMO_MODEL,
      sourceUri: "test",
    });
    await prune(other);
    const mine = (await store.list(teacherCachePrefix(teamId))).map((o) => o.key);
    assert.equal(mine.length, 1);
    const theirs = await run(other, spec);
    assert.equal(theirs.cache.reused, false);
    assert.ok(theirs.cache.key.startsWith(teacherCachePrefix(other)), theirs.cache.key);
    assert.deepEqual(
      (await store.list(teacherCachePrefix(teamId))).map((o) => o.key),
      mine,
    );
    assert.equal((await store.list(teacherCachePrefix(other))).length, 1);
  });
});
