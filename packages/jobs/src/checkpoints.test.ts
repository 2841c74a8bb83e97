// StoreCheckpoints over the version cache: a materialized version is pinned for the attempt (the runner
// releases it at the end), a version bigger than the whole cache is downloaded into the attempt's scratch
// folder instead, and a version listed with no files is a clear error.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LocalStore } from "@shortened/adapters";
import type { VersionInfo } from "@shortened/contracts";
import { StoreCheckpoints } from "./checkpoints.js";
import { VersionCache } from "./version-cache.js";

let root: string;
let store: LocalStore;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "checkpoints-"));
  store = new LocalStore(join(root, "store"));
  for (const [id, n] of [
    ["small", 1000],
    ["large", 5000],
  ] as const) {
    await store.putBytes(`teams/t/models/m/${id}/config.json`, new TextEncoder().encode("{}"));
    await store.putBytes(`teams/t/models/m/${id}/model.safetensors`, new Uint8Array(n).fill(4));
  }
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const version = (id: string): VersionInfo => ({
  id,
  teamId: "t",
  modelId: "m",
  modelName: "m",
  number: 1,
  kind: "base",
  storagePrefix: `teams/t/models/m/${id}`,
  recipe: {},
});

test("materialize pins the cached copy for the attempt; a version over the bound goes to scratch", async () => {
  const cache = new VersionCache(join(root, "cache"), 3000);
  const pins: (() => Promise<void>)[] = [];
  const scratchDir = join(root, "work");
  const cp = new StoreCheckpoints(store, "t", { cache, onPin: (r) => pins.push(r), scratchDir });
  const small = await cp.materialize(version("small"));
  assert.equal(small, join(cache.dir, "small"));
  assert.equal((await readFile(join(small, "model.safetensors"))).length, 1000);
  assert.equal(pins.length, 1);
  assert.ok(existsSync(join(cache.dir, ".pins", "small")));
  const large = await cp.materialize(version("large"));
  assert.ok(large.startsWith(scratchDir), large);
  assert.equal((await readFile(join(large, "model.safetensors"))).length, 5000);
  assert.deepEqual(await cache.list(), [{ id: "small", bytes: 1002 }]);
  assert.equal(await cp.stage(version("small"), join(scratchDir, "stage")), small);
  assert.equal(pins.length, 2, "stage pins what it reads from the cache too");
  for (const release of pins) await release();
  assert.ok(!existsSync(join(cache.dir, ".pins", "small")));
  await assert.rejects(
    cp.materialize({ ...version("none"), storagePrefix: "teams/t/models/m/none" }),
    /model version none has no files under teams\/t\/models\/m\/none\//,
  );
});
