// One on-disk cache of converted weights, shared by every session and job on the machine: each weight a graph must
// convert (BF16 stored for float32 compute, float16 compute, pretransposed) is written once, as a file named by the
// hash of what it holds (its source file's identity, offset, stored and wanted dtype, transposition:
// `Tensor.contentKey`), and every later session over the same weight, whatever its graph, reads that file.
// - Bounded: before an entry is written, the least recently used entries (by mtime, touched on each use) are removed
//   until the new one fits under `maxBytes`; a graph whose entries together exceed the bound is not cached (the caller writes a
//   temporary file instead).
// - A kill never leaves an orphan: an entry is written as `<key>.data.tmp-<pid>` and renamed when complete; temporary
//   files and use folders of dead processes are removed by the next process that opens the cache.
// - A concurrent reader is safe: a session reads its entries through hard links in a folder of its own
//   (`use-<pid>-…/`), so an eviction between the look-up and ONNX Runtime's read unlinks only the cache's name.
//   (ORT 1.29 refuses symlinks that resolve outside the folder it is given; a hard link is the file itself.) The
//   graph's other external tensors (made in JavaScript) are written to that folder and go with it.
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WeightCache {
  dir: string;
  maxBytes: number;
}

/** `SHORTENED_WEIGHT_CACHE_DIR` (default `<tmpdir>/shortened-weight-cache`), bounded by
 *  `SHORTENED_WEIGHT_CACHE_BYTES` (default 8 GiB; 0 turns the cache off). */
export function defaultWeightCache(env = process.env): WeightCache {
  const bytes = env.SHORTENED_WEIGHT_CACHE_BYTES;
  return {
    dir: env.SHORTENED_WEIGHT_CACHE_DIR || join(tmpdir(), "shortened-weight-cache"),
    maxBytes: bytes !== undefined && /^\d+$/.test(bytes) ? Number(bytes) : 8 * 1024 ** 3,
  };
}

/** An entry opened for one session: ORT reads the entries through links in `folder`; `release` removes it. */
export interface CacheUse {
  folder: string;
  /** bytes this call wrote to the cache (its misses) */
  wroteBytes: number;
  release: () => void;
}

export interface CacheEntry {
  key: string;
  bytes: number;
  write: (path: string) => void;
}

/** Links each entry (`<key>.data`, written by its `write(path)` on a miss) into a new folder of this process;
 *  null when the entries together do not fit the bound. */
export function useCacheEntries(cache: WeightCache, entries: CacheEntry[]): CacheUse | null {
  const unique = [...new Map(entries.map((e) => [e.key, e])).values()];
  if (unique.reduce((a, e) => a + e.bytes, 0) > cache.maxBytes) return null;
  mkdirSync(cache.dir, { recursive: true });
  removeOrphans(cache.dir);
  // this graph's entries are the most recently used, so writing its misses evicts others first
  const now = new Date();
  for (const e of unique) {
    try {
      utimesSync(join(cache.dir, `${e.key}.data`), now, now);
    } catch {
      // not cached yet
    }
  }
  const folder = mkdtempSync(join(cache.dir, `use-${process.pid}-`));
  let wroteBytes = 0;
  try {
    for (const e of unique) wroteBytes += linkEntry(cache, e, folder);
  } catch (err) {
    rmSync(folder, { recursive: true, force: true });
    throw err;
  }
  return { folder, wroteBytes, release: () => rmSync(folder, { recursive: true, force: true }) };
}

/** Links one entry into `folder`, writing it first on a miss; returns the bytes written. */
function linkEntry(cache: WeightCache, e: CacheEntry, folder: string, retry = true): number {
  const entry = join(cache.dir, `${e.key}.data`);
  let wrote = 0;
  if (!exists(entry)) {
    evict(cache, e.bytes);
    const tmp = `${entry}.tmp-${process.pid}`;
    try {
      e.write(tmp);
      renameSync(tmp, entry);
    } finally {
      rmSync(tmp, { force: true });
    }
    wrote = e.bytes;
  }
  try {
    linkSync(entry, join(folder, `${e.key}.data`));
  } catch (err) {
    // evicted by another process between the look-up and the link: write it again
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && retry)
      return wrote + linkEntry(cache, e, folder, false);
    throw err;
  }
  return wrote;
}

/** Removes least recently used entries until `incoming` more bytes fit under the bound. */
function evict(cache: WeightCache, incoming: number): void {
  const entries = readdirSync(cache.dir)
    .filter((n) => n.endsWith(".data"))
    .flatMap((n) => {
      try {
        const s = statSync(join(cache.dir, n));
        return [{ path: join(cache.dir, n), size: s.size, used: s.mtimeMs }];
      } catch {
        return []; // removed by another process meanwhile
      }
    })
    .sort((a, b) => a.used - b.used);
  let total = entries.reduce((a, e) => a + e.size, 0);
  for (const e of entries) {
    if (total + incoming <= cache.maxBytes) break;
    rmSync(e.path, { force: true });
    total -= e.size;
  }
}

/** Temporary entries and use folders whose process is gone (killed while writing or loading). */
function removeOrphans(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /\.tmp-(\d+)$/.exec(name) ?? /^use-(\d+)-/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
