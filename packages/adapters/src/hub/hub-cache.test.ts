// HubCache and resolveSnapshot against the loopback stand-in of the Hub: pinning, verification, resume,
// the refusals (401, 403, 404, over budget), the size bound and the pins of snapshots in use.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { HubCache } from "./hub-cache.js";
import { type HubConfig, HubIntegrityError, HubTransferError } from "./hub-fetch.js";
import { diskUse } from "./hub-reservations.js";
import { type HubSnapshot, resolveSnapshot } from "./hub-snapshot.js";
import { parseHubUri } from "./hub-uri.js";
import { HubStandIn } from "./test-support/hub-stand-in.js";
import { holdInOtherProcess } from "./test-support/lock-holder-process.js";

const hub = new HubStandIn();
let cfg: HubConfig;
let root: string;
const weights = (seed: number, n = 64 * 1024) => Buffer.alloc(n, seed);
const files = (seed: number) => ({
  "config.json": JSON.stringify({ model_type: "llama", seed }),
  "model.safetensors": weights(seed),
  "tokenizer.json": "{}",
  "README.md": "not needed",
  "pytorch_model.bin": weights(9, 2048),
});

before(async () => {
  cfg = { endpoint: await hub.start(), maxModelBytes: 10 * 2 ** 20, cacheMaxBytes: 10 * 2 ** 20 };
  root = await mkdtemp(join(tmpdir(), "hub-cache-"));
});
after(async () => {
  await hub.stop();
  await rm(root, { recursive: true, force: true });
});

const fresh = async (name: string, c: Partial<HubConfig> = {}) =>
  new HubCache(await mkdtemp(join(root, `${name}-`)), { ...cfg, ...c });

test("resolves a revision to its commit and downloads the checkpoint files only, verified", async () => {
  const commit = hub.addRepo("org/plain", files(1));
  const snap = await resolveSnapshot(cfg, parseHubUri("hf://org/plain@main"));
  assert.equal(snap.commit, commit);
  assert.deepEqual(
    snap.files.map((f) => f.path),
    ["config.json", "model.safetensors", "tokenizer.json"],
  );
  assert.match(snap.files[1].sha256 ?? "", /^[0-9a-f]{64}$/);
  const cache = await fresh("plain");
  const dir = await cache.ensure(snap);
  assert.deepEqual(
    (await readFile(join(dir, "model.safetensors"))).subarray(0, 4),
    weights(1).subarray(0, 4),
  );
  assert.deepEqual(await cache.list(), [{ repo: "org/plain", commit, bytes: snap.totalBytes }]);
  // The LFS object came from the redirect without the token; the second ensure downloads nothing.
  const before = hub.requests.length;
  assert.equal(await cache.ensure(snap), dir);
  assert.equal(hub.requests.length, before);
});

test("a revision that moves between two calls: the pinned commit is downloaded, the new one is a new snapshot", async () => {
  const first = hub.addRepo("org/moving", files(2));
  const snap = await resolveSnapshot(cfg, parseHubUri("hf://org/moving@main"));
  const second = hub.commitFiles("org/moving", { "model.safetensors": weights(3) });
  const cache = await fresh("moving");
  const dir = await cache.ensure(snap);
  assert.equal((await readFile(join(dir, "model.safetensors")))[0], 2, "the files of the pinned commit");
  assert.ok(dir.endsWith(first));
  const again = await resolveSnapshot(cfg, parseHubUri("hf://org/moving@main"));
  assert.equal(again.commit, second);
  assert.equal((await readFile(join(await cache.ensure(again), "model.safetensors")))[0], 3);
  // A mirror that answers for another commit than the one pinned is refused; nothing is cached.
  hub.reportCommit = second;
  const cache2 = await fresh("moving2");
  try {
    await assert.rejects(
      cache2.ensure(snap),
      (e: Error) => e instanceof HubIntegrityError && /revision moved/.test(e.message),
    );
  } finally {
    hub.reportCommit = undefined;
  }
  assert.deepEqual(await cache2.list(), []);
});

test("a file that changes under the same name is refused and nothing is cached", async () => {
  hub.addRepo("org/changed", files(4));
  const snap = await resolveSnapshot(cfg, parseHubUri("hf://org/changed@main"));
  const cache = await fresh("changed");
  hub.serveInstead.set("model.safetensors", weights(5));
  try {
    await assert.rejects(cache.ensure(snap), (e: Error) => {
      assert.ok(e instanceof HubIntegrityError, String(e));
      assert.match(e.message, /changed under the same name/);
      return true;
    });
  } finally {
    hub.serveInstead.delete("model.safetensors");
  }
  assert.deepEqual(await cache.list(), []);
  // A small (non-LFS) file with other bytes of the same size: its git blob id differs.
  const tok = "config.json";
  hub.serveInstead.set(tok, Buffer.from(JSON.stringify({ model_type: "llama", seed: 7 })));
  try {
    await assert.rejects((await fresh("changed2")).ensure(snap), /config.json changed under the same name/);
  } finally {
    hub.serveInstead.delete(tok);
  }
  assert.deepEqual(await cache.list(), []);
  await cache.ensure(snap);
  assert.equal((await cache.list()).length, 1);
});

test("a truncated download fails clearly and the next try resumes where it stopped", async () => {
  hub.addRepo("org/cut", files(6));
  const snap = await resolveSnapshot(cfg, parseHubUri("hf://org/cut@main"));
  const cache = await fresh("cut");
  hub.truncateOnce.set("model.safetensors", 20_000);
  let stoppedAt = -1;
  await assert.rejects(cache.ensure(snap), (e: Error) => {
    assert.ok(e instanceof HubTransferError, String(e));
    assert.match(e.message, /stopped at \d+ of 65536 bytes.*resumes/);
    stoppedAt = Number(/stopped at (\d+)/.exec(e.message)![1]);
    return true;
  });
  assert.deepEqual(await cache.list(), []);
  const seen: number[] = [];
  const mark = hub.requests.length;
  const dir = await cache.ensure(snap, { onProgress: (p) => seen.push(p.bytes) });
  const ranges = hub.requests
    .slice(mark)
    .filter((r) => r.path.startsWith("/lfs-objects/") && r.range !== "bytes=0-0");
  assert.equal(ranges.length, 1);
  // Every byte the failed try counted is on disk: the retry asks for exactly the rest.
  assert.ok(stoppedAt > 0, "the cut-off try received some bytes");
  assert.equal(ranges[0].range, `bytes=${stoppedAt}-65535`);
  assert.equal((await readFile(join(dir, "model.safetensors"))).length, 65536);
  assert.equal(seen.at(-1), snap.totalBytes);
});

test("wrong token 401, private without token 401, gated 403, missing repo, revision and file: clear errors", async () => {
  hub.tokens.add("hf_good");
  hub.tokens.add("hf_other");
  hub.addRepo("org/private", files(7), { private: true });
  hub.addRepo("org/gated", files(8), { gatedFor: ["hf_good"] });
  const code = (re: RegExp) => (e: Error & { code?: string }) => {
    assert.match(`${e.code} ${e.message}`, re);
    return true;
  };
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/private@main"), { token: "hf_wrong", tokenSecret: "hf" }),
    code(/^hub_unauthorized .*team secret "hf".*wrong or revoked/),
  );
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/private@main")),
    code(/^hub_unauthorized .*private/),
  );
  assert.ok(await resolveSnapshot(cfg, parseHubUri("hf://org/private@main"), { token: "hf_good" }));
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/gated@main"), { token: "hf_other", tokenSecret: "hf" }),
    code(/^hub_gated .*403/),
  );
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/nope@main")),
    code(/^hub_unauthorized|^hub_not_found/),
  );
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/private@v9"), { token: "hf_good" }),
    code(/^hub_not_found .*@v9/),
  );
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/private@main"), { token: "not-a-token" }),
    code(/^hub_unauthorized .*hf_/),
  );
  // A file listed at the commit that the Hub then does not serve.
  hub.addRepo("org/missing", files(9));
  const snap = await resolveSnapshot(cfg, parseHubUri("hf://org/missing@main"));
  const gone = {
    ...snap,
    files: [...snap.files, { path: "tokenizer_config.json", size: 2, gitOid: "0".repeat(40) }],
  };
  const cache = await fresh("missing");
  await assert.rejects(cache.ensure(gone), code(/^hub_not_found .*tokenizer_config.json/));
  assert.deepEqual(await cache.list(), []);
  // A repo without weights it can read.
  hub.addRepo("org/binonly", { "config.json": "{}", "pytorch_model.bin": weights(1, 100) });
  await assert.rejects(
    resolveSnapshot(cfg, parseHubUri("hf://org/binonly@main")),
    code(/^invalid_checkpoint .*safetensors/),
  );
});

test("a repo over the size budget is refused before any download; the cache stays under its bound", async () => {
  hub.addRepo("org/big", files(10));
  const small = { ...cfg, maxModelBytes: 1000 };
  const mark = hub.requests.length;
  await assert.rejects(
    resolveSnapshot(small, parseHubUri("hf://org/big@main")),
    (e: Error & { code?: string }) => e.code === "payload_too_large" && /HF_MAX_MODEL_BYTES/.test(e.message),
  );
  assert.ok(!hub.requests.slice(mark).some((r) => r.path.startsWith("/lfs-objects/")));
  // Bound of ~1.5 snapshots: the least recently used one goes.
  const snaps = [];
  for (const [i, name] of ["org/lru-a", "org/lru-b"].entries()) {
    hub.addRepo(name, files(11 + i));
    snaps.push(await resolveSnapshot(cfg, parseHubUri(`hf://${name}@main`)));
  }
  const cache = await fresh("lru", { cacheMaxBytes: Math.floor(snaps[0].totalBytes * 1.5) });
  await cache.ensure(snaps[0]);
  await cache.ensure(snaps[1]);
  assert.deepEqual(
    (await cache.list()).map((s) => s.repo),
    ["org/lru-b"],
  );
  const tiny = await fresh("tiny", { cacheMaxBytes: 100 });
  await assert.rejects(tiny.ensure(snaps[0]), /HF_CACHE_MAX_BYTES/);
  assert.deepEqual(await readdir(tiny.dir), []);
  assert.ok(!existsSync(join(tiny.dir, ".partial")));
});

test("a snapshot a job reads is not evicted while pinned, by this process or another; a dead reader's pin does not hold it", async () => {
  const snaps = [];
  for (const [i, name] of ["org/pin-a", "org/pin-b", "org/pin-c"].entries()) {
    hub.addRepo(name, files(21 + i));
    snaps.push(await resolveSnapshot(cfg, parseHubUri(`hf://${name}@main`)));
  }
  const [a, b, c] = snaps as [HubSnapshot, HubSnapshot, HubSnapshot];
  const cache = await fresh("pin", { cacheMaxBytes: Math.floor(a.totalBytes * 1.5) });
  const repos = async () => (await cache.list()).map((s) => s.repo).sort();
  const reading = await cache.acquire(a);
  await cache.ensure(b); // would evict a: it stays, over the bound while pinned
  assert.deepEqual(await repos(), ["org/pin-a", "org/pin-b"]);
  assert.equal((await readFile(join(reading.dir, "model.safetensors")))[0], 21);
  await reading.release();
  await reading.release(); // twice is harmless
  await cache.ensure(c); // nothing pinned: the two least recently used go
  assert.deepEqual(await repos(), ["org/pin-c"]);
  // A pin of another live process (our parent's pid) holds a snapshot; one of a process that ended does not.
  const pins = join(cache.dir, ".pins", "org--pin-c", c.commit);
  await mkdir(pins, { recursive: true });
  await writeFile(join(pins, `${process.ppid}-1-other`), "");
  await cache.ensure(a);
  assert.deepEqual(await repos(), ["org/pin-a", "org/pin-c"]);
  const dead = spawnSync("true").pid;
  await rm(join(pins, `${process.ppid}-1-other`));
  await writeFile(join(pins, `${dead}-1-gone`), "");
  await cache.ensure(b);
  assert.deepEqual(await repos(), ["org/pin-b"]);
  assert.ok(!existsSync(pins), "the dead process's pin was removed, and its empty folder");
});

test("downloads in progress count against the bound: two that start together evict for each other, another live process's too", async () => {
  const snaps: HubSnapshot[] = [];
  for (const [i, name] of ["org/busy-c", "org/busy-a", "org/busy-b", "org/busy-d", "org/busy-e"].entries()) {
    hub.addRepo(name, files(31 + i));
    snaps.push(await resolveSnapshot(cfg, parseHubUri(`hf://${name}@main`)));
  }
  const [c, a, b, d, e] = snaps as [HubSnapshot, HubSnapshot, HubSnapshot, HubSnapshot, HubSnapshot];
  const bound = Math.floor(a.totalBytes * 2.5);
  // a's download stops once it holds its lock, reserved and made room, until b has finished
  let aWaits!: () => void;
  const aWaiting = new Promise<void>((r) => {
    aWaits = r;
  });
  let releaseA!: () => void;
  const aReleased = new Promise<void>((r) => {
    releaseA = r;
  });
  const cache = new HubCache(
    await mkdtemp(join(root, "busy-")),
    { ...cfg, cacheMaxBytes: bound },
    {
      downloading: async (s) => {
        if (s.repo !== a.repo) return;
        aWaits();
        await aReleased;
      },
    },
  );
  const repos = async () => (await cache.list()).map((s) => s.repo).sort();
  const used = async () => (await cache.list()).reduce((n, s) => n + s.bytes, 0);
  await cache.ensure(c);
  const aDone = cache.ensure(a); // c + a fit: nothing evicted
  await aWaiting;
  // b sees a's download in progress at its listed size: c + a + b would not fit, so c goes
  await cache.ensure(b);
  assert.deepEqual(await repos(), ["org/busy-b"]);
  releaseA();
  await aDone;
  assert.deepEqual(await repos(), ["org/busy-a", "org/busy-b"]);
  assert.ok((await used()) <= bound, `${await used()} bytes in a cache bound to ${bound}`);

  // A download of another live process (our parent's pid holds the lock) reserves its listed size too...
  const ghost = join(cache.dir, ".partial", "org--ghost", "0".repeat(40));
  await mkdir(ghost, { recursive: true });
  await writeFile(join(ghost, ".reserved"), JSON.stringify({ bytes: a.totalBytes }));
  await writeFile(join(ghost, ".lock"), String(process.ppid));
  await cache.ensure(d); // a + b + d + the ghost's would not fit: a and b go
  assert.deepEqual(await repos(), ["org/busy-d"]);
  // ... and one whose process ended holds nothing.
  await writeFile(join(ghost, ".lock"), String(spawnSync("true").pid));
  await cache.ensure(e);
  assert.deepEqual(await repos(), ["org/busy-d", "org/busy-e"]);
  // A finished download leaves no reservation behind in its snapshot.
  assert.ok(!existsSync(join(cache.snapshotDir(e.repo, e.commit), ".reserved")));
});

test("a download whose process ended counts against the bound with its .part files, and goes first when room is needed", async (t) => {
  const snaps: HubSnapshot[] = [];
  for (const [i, name] of ["org/left-a", "org/left-b"].entries()) {
    hub.addRepo(name, files(41 + i));
    snaps.push(await resolveSnapshot(cfg, parseHubUri(`hf://${name}@main`)));
  }
  const [a, b] = snaps as [HubSnapshot, HubSnapshot];
  const bound = Math.floor(a.totalBytes * 2.5);
  const cache = await fresh("left", { cacheMaxBytes: bound });
  // A download of another process that ended (really: it took the lock, then exited) left 1.2 snapshots of .part.
  const left = join(cache.dir, ".partial", "org--left-gone", "1".repeat(40));
  const dead = await holdInOtherProcess(left, join(cache.dir, ".partial", ".locking"));
  t.after(() => dead.kill());
  await writeFile(join(left, "model.safetensors.part"), weights(7, Math.floor(a.totalBytes * 1.2)));
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(join(left, "model.safetensors.part"), hourAgo, hourAgo);
  dead.stdin.end("exit\n");
  await once(dead, "exit");
  // A failed attempt's folder (no lock), small: kept while there is room, for a retry to resume.
  const failed = join(cache.dir, ".partial", "org--left-retry", "2".repeat(40));
  await mkdir(failed, { recursive: true });
  await writeFile(join(failed, "model.safetensors.part"), weights(8, 100));
  await cache.ensure(a); // a + 1.2 + 100 bytes fit
  assert.ok(existsSync(join(left, "model.safetensors.part")) && existsSync(failed));
  // a + b + the 1.2 left would not fit: what the dead process left goes, oldest first, a stays.
  await cache.ensure(b);
  assert.deepEqual(
    (await cache.list()).map((s) => s.repo),
    ["org/left-a", "org/left-b"],
  );
  assert.ok(!existsSync(left), "the dead process's download was removed");
  assert.ok(existsSync(failed), "the newer one, which fits, was kept");
  const onDisk = await diskUse(cache.dir);
  assert.ok(onDisk.bytes <= bound, `${onDisk.bytes} bytes on disk in a cache bound to ${bound}`);
});
