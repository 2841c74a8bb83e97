// Eviction of the least recently used entries of a folder cache under a size bound, safe against readers in
// other processes: an entry is moved aside (one rename), then its pins are looked at again, and a reader that
// pinned it meanwhile gets it back; only then is it deleted. Readers wait such a move out (ReaderPins'
// pinIfPresent). Used by the Hub cache and the version cache.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ownerAlive, ownerOfTag } from "../process-owner.js";
import type { ReaderPins } from "./reader-pins.js";

export interface CacheEntry {
  /** the entry's folder */
  dir: string;
  /** its name in the pins (a relative path) */
  key: string;
  bytes: number;
  /** when it was last used (ms), oldest goes first */
  usedMs: number;
}

/**
 * Deletes unpinned entries, least recently used first, until `need` more bytes fit under `maxBytes` (or
 * nothing unpinned is left: pinned entries may hold the cache over its bound until they are released).
 * `entries` are all complete entries of the cache but the one being made. Returns the bytes left in use.
 */
export async function evictLeastRecentlyUsed(o: {
  entries: CacheEntry[];
  need: number;
  maxBytes: number;
  pins: ReaderPins;
}): Promise<number> {
  await removeLeftovers(o.pins.asideDir);
  let used = o.entries.reduce((s, e) => s + e.bytes, 0);
  const candidates: CacheEntry[] = [];
  for (const e of o.entries) if (!(await o.pins.pinned(e.key))) candidates.push(e);
  for (const e of candidates.sort((a, b) => a.usedMs - b.usedMs)) {
    if (used + o.need <= o.maxBytes) break;
    const aside = o.pins.asideName(e.key);
    await mkdir(o.pins.asideDir, { recursive: true });
    const moved = await rename(e.dir, aside).then(
      () => true,
      () => false, // another process evicted it first
    );
    if (!moved) continue;
    await o.pins.hooks.movedAside?.(e.key);
    if (await o.pins.pinned(e.key)) {
      await rename(aside, e.dir);
      continue;
    }
    await rm(aside, { recursive: true, force: true });
    used -= e.bytes;
  }
  return used;
}

/** Removes what processes that ended left in `dir` (entries named <ownerTag>-...: downloads, evictions). */
export async function removeLeftovers(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[]))
    if (!ownerAlive(ownerOfTag(name))) await rm(join(dir, name), { recursive: true, force: true });
}
