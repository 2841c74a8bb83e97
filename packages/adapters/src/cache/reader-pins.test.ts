// A reader pinning an entry while an eviction holds it aside: the two are interleaved by hooks at the exact
// points of the window (no timing), and the reader must get the entry (it is put back), or a clean miss when the
// eviction decided before the pin.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { evictLeastRecentlyUsed } from "./lru-eviction.js";
import { ReaderPins } from "./reader-pins.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "reader-pins-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cacheWithEntry(name: string): Promise<{ pins: ReaderPins; dir: string; marker: string }> {
  const base = join(root, name);
  const dir = join(base, "v1");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, ".complete"), "");
  return {
    pins: new ReaderPins(join(base, ".pins"), join(base, ".evicting")),
    dir,
    marker: join(dir, ".complete"),
  };
}

const evictAll = (pins: ReaderPins, dir: string) =>
  evictLeastRecentlyUsed({
    entries: [{ dir, key: "v1", bytes: 10, usedMs: 0 }],
    need: 10,
    maxBytes: 10,
    pins,
  });

test("a reader that pins an entry while it is moved aside waits and gets it back", async () => {
  const { pins, dir, marker } = await cacheWithEntry("put-back");
  let reader: Promise<(() => Promise<void>) | null> | undefined;
  let sawGap = false;
  pins.hooks.movedAside = async (key) => {
    assert.equal(key, "v1");
    sawGap = !existsSync(marker); // the window: the folder is away
    const waiting = new Promise<void>((resolve) => {
      pins.hooks.waitingForEviction = () => resolve();
    });
    reader = pins.pinIfPresent("v1", () => existsSync(marker));
    // Go on only once the reader has pinned and seen the folder missing (or has answered already: a bug).
    await Promise.race([waiting, reader]);
  };
  await evictAll(pins, dir);
  assert.ok(sawGap);
  const release = await reader;
  assert.ok(release, "the reader got the entry, not a miss");
  assert.ok(existsSync(marker), "the eviction put it back");
  assert.deepEqual(await readdir(join(root, "put-back", ".evicting")), []);
  await release();
});

test("a reader that pins after the eviction looked at the pins again gets a clean miss", async () => {
  const { pins, dir, marker } = await cacheWithEntry("gone");
  await evictAll(pins, dir);
  assert.ok(!existsSync(dir));
  assert.equal(await pins.pinIfPresent("v1", () => existsSync(marker)), null);
  assert.equal(await pins.pinned("v1"), false, "a miss leaves no pin");
});

test("an aside left by a process that ended is not waited for", async () => {
  const { pins, marker } = await cacheWithEntry("dead-aside");
  await rm(join(root, "dead-aside", "v1"), { recursive: true });
  await mkdir(join(pins.asideDir, "999999999-1-v1"), { recursive: true });
  assert.equal(await pins.pinIfPresent("v1", () => existsSync(marker)), null);
});
