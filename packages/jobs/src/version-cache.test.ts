// The version cache: least recently used versions go first under the bound, a pinned version (this process's,
// another live process's) stays, pins of processes that ended hold nothing, a download killed half-way is never
// used and is cleaned, concurrent readers of one version share one complete copy.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { VersionCache, type VersionSource, versionCacheMaxBytes } from "./version-cache.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "version-cache-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const KB = 1000;
/** A version of `bytes` bytes: one weights file filled with `fill`; counts its downloads. */
function source(id: string, bytes = 10 * KB, fill = 7): VersionSource & { downloads: number } {
  const s = {
    id,
    downloads: 0,
    bytes: async () => bytes,
    download: async (into: string) => {
      s.downloads++;
      await writeFile(join(into, "model.safetensors"), Buffer.alloc(bytes, fill));
    },
  };
  return s;
}
const fresh = async (name: string, maxBytes = 25 * KB) =>
  new VersionCache(await mkdtemp(join(root, `${name}-`)), maxBytes);
const ids = async (c: VersionCache) => (await c.list()).map((v) => v.id);
/** Marks a cached version as last used `ago` seconds ago. */
const usedAgo = async (c: VersionCache, id: string, ago: number) => {
  const t = new Date(Date.now() - ago * 1000);
  await utimes(join(c.dir, id, ".complete"), t, t);
};
const deadPid = () => spawnSync("true").pid as number;

test("the least recently used version goes first; a hit counts as a use and downloads nothing", async () => {
  const cache = await fresh("lru");
  const a = source("a");
  for (const s of [a, source("b")]) await (await cache.acquire(s))!.release();
  await usedAgo(cache, "a", 100);
  await usedAgo(cache, "b", 50);
  const hit = await cache.acquire(a); // a is now the most recently used
  assert.equal(a.downloads, 1);
  await hit!.release();
  await (await cache.acquire(source("c")))!.release(); // 30 KB > 25 KB: one must go, b
  assert.deepEqual((await ids(cache)).sort(), ["a", "c"]);
  assert.deepEqual(await cache.list(), [
    { id: "a", bytes: 10 * KB },
    { id: "c", bytes: 10 * KB },
  ]);
  await usedAgo(cache, "c", 10);
  await (await cache.acquire(source("d", 20 * KB)))!.release(); // needs both gone
  assert.deepEqual(await ids(cache), ["d"]);
});

test("a version bigger than the whole bound is not cached (null), and evicts nothing", async () => {
  const cache = await fresh("big");
  await (await cache.acquire(source("a")))!.release();
  const big = source("big", 30 * KB);
  assert.equal(await cache.acquire(big), null);
  assert.equal(big.downloads, 0);
  assert.deepEqual(await ids(cache), ["a"]);
});

test("a pinned version is not evicted (this process, another live one); pins of ended processes hold nothing", async () => {
  const cache = await fresh("pin");
  const reading = (await cache.acquire(source("a", 10 * KB, 1)))!;
  await usedAgo(cache, "a", 100);
  for (const id of ["b", "c"]) await (await cache.acquire(source(id)))!.release();
  // a is the oldest but pinned: b went instead, and a's files are still there to read
  assert.deepEqual((await ids(cache)).sort(), ["a", "c"]);
  assert.equal((await readFile(join(reading.dir, "model.safetensors")))[0], 1);
  // Over the bound while pinned: 20 KB pinned + 10 KB new
  const held = (await cache.acquire(source("d")))!;
  await (await cache.acquire(source("e")))!.release();
  assert.ok((await ids(cache)).includes("a") && (await ids(cache)).includes("d"));
  await reading.release();
  await reading.release(); // twice is harmless
  await held.release();
  await usedAgo(cache, "a", 100);
  await (await cache.acquire(source("f")))!.release();
  assert.ok(!(await ids(cache)).includes("a"), "released: a is evicted like any other");

  // Pins of other processes: our parent (alive) holds; a process that ended, or an earlier process that had
  // the same pid (another start time), does not.
  const pins = (id: string) => join(cache.dir, ".pins", id);
  const pinAs = async (id: string, name: string) => {
    await mkdir(pins(id), { recursive: true });
    await writeFile(join(pins(id), name), "");
  };
  const cur = await ids(cache);
  for (const id of cur) await usedAgo(cache, id, 100);
  const [x, y] = cur as [string, string];
  await pinAs(x, `${process.ppid}-1-other`);
  await pinAs(y, `${deadPid()}-1-gone`);
  await pinAs(y, `${process.pid}.1-1-earlier`); // our pid, but a start time this process does not have
  await (await cache.acquire(source("g", 15 * KB)))!.release();
  assert.deepEqual((await ids(cache)).sort(), [x, "g"].sort());
  assert.ok(!existsSync(pins(y)), "the dead readers' pins were removed, and their folder");
  assert.deepEqual(await readdir(pins(x)), [`${process.ppid}-1-other`]);
});

test("a download killed half-way is never used; the next download removes it and makes a complete copy", async () => {
  const cache = await fresh("kill");
  const child = spawn(
    process.execPath,
    [
      "--conditions=development",
      "--import",
      "tsx",
      join(import.meta.dirname, "test-support", "version-download-child.ts"),
      join(cache.dir, ".."),
      "v1",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((res, rej) => {
    child.stdout.on("data", (d: Buffer) => d.toString().includes("half") && res());
    child.on("exit", (code) => rej(new Error(`the child ended before it was killed (${code})`)));
  });
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  const partial = join(cache.dir, ".partial");
  assert.equal((await readdir(partial)).length, 1, "the half download is where the kill left it");
  assert.ok(!existsSync(join(cache.dir, "v1")), "and nowhere a reader looks");
  assert.deepEqual(await ids(cache), []);
  assert.equal(await cache.cached("v1"), null);
  // Older leftovers too: a folder without its marker, and a download of the cache before it had a bound.
  await mkdir(join(cache.dir, "v2"), { recursive: true });
  await writeFile(join(cache.dir, "v2", "model.safetensors"), "half");
  await mkdir(join(cache.dir, `v3.partial-${deadPid()}-1733350000000`));
  const v1 = source("v1", 10 * KB, 3);
  const got = (await cache.acquire(v1))!;
  assert.equal(v1.downloads, 1);
  assert.equal((await readFile(join(got.dir, "model.safetensors"))).length, 10 * KB);
  assert.deepEqual(await readdir(partial), [], "the killed download was removed");
  assert.deepEqual((await readdir(cache.dir)).sort(), [".partial", ".pins", "v1"]);
  const v2 = source("v2");
  assert.equal(await cache.cached("v2"), null, "a folder without its marker is not a cached version");
  await (await cache.acquire(v2))!.release();
  assert.equal(v2.downloads, 1);
  await got.release();
});

test("a failed download leaves nothing, and the pin it made is released", async () => {
  const cache = await fresh("fail");
  const s = source("a");
  s.download = async (into) => {
    await writeFile(join(into, "config.json"), "{}");
    throw new Error("store went away");
  };
  await assert.rejects(cache.acquire(s), /store went away/);
  assert.deepEqual(await readdir(join(cache.dir, ".partial")), []);
  assert.ok(!existsSync(join(cache.dir, ".pins", "a")));
});

test("concurrent readers of one version share one complete copy; eviction under way spares what they pin", async () => {
  const cache = await fresh("many", 35 * KB);
  const a = source("a", 10 * KB, 5);
  const readers = await Promise.all([1, 2, 3, 4].map(() => cache.acquire(a)));
  const dirs = new Set(readers.map((r) => r!.dir));
  assert.equal(dirs.size, 1);
  for (const r of readers) assert.equal((await readFile(join(r!.dir, "model.safetensors")))[0], 5);
  assert.deepEqual(await ids(cache), ["a"]);
  // Readers of others push the cache over its bound at once; a stays while any reader holds it.
  await usedAgo(cache, "a", 100);
  const others = await Promise.all(["b", "c", "d", "e"].map((id) => cache.acquire(source(id))));
  assert.ok((await ids(cache)).includes("a"));
  for (const r of readers.slice(0, 3)) await r!.release();
  await (await cache.acquire(source("f")))!.release();
  assert.ok((await ids(cache)).includes("a"), "one reader still holds it");
  await readers[3]!.release();
  for (const r of others) await r!.release();
  await usedAgo(cache, "a", 100);
  await (await cache.acquire(source("g")))!.release();
  assert.ok(!(await ids(cache)).includes("a"));
  assert.ok((await cache.list()).reduce((s, v) => s + v.bytes, 0) <= 35 * KB);
});

test("a download under way in another live process counts against the bound", async () => {
  const cache = await fresh("reserve");
  await (await cache.acquire(source("a")))!.release();
  // Another process (our parent, alive) is downloading 15 KB: 10 + 15 + 10 KB do not fit 25 KB, so a goes.
  const other = join(cache.dir, ".partial", `${process.ppid}-1-${15 * KB}-other`);
  await mkdir(other, { recursive: true });
  await (await cache.acquire(source("b")))!.release();
  assert.deepEqual(await ids(cache), ["b"]);
  assert.ok(existsSync(other), "a live process's download is left alone");
});

test("VERSION_CACHE_MAX_BYTES: default 100 GiB, a bad value is refused with its name", () => {
  assert.equal(versionCacheMaxBytes({}), 100 * 2 ** 30);
  assert.equal(versionCacheMaxBytes({ VERSION_CACHE_MAX_BYTES: "5000000000" }), 5e9);
  for (const bad of ["-1", "0", "10G", "lots"])
    assert.throws(() => versionCacheMaxBytes({ VERSION_CACHE_MAX_BYTES: bad }), /VERSION_CACHE_MAX_BYTES/);
});
