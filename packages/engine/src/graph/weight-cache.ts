// One on-disk cache of converted weights, shared by every session and job on the machine: the external data of a
// graph whose weights must be converted (BF16 stored for float32 compute, float16 compute, pretransposed) is
// written once, named by the hash of what it holds (each tensor's source file identity, offset, stored and wanted
// dtype, transposition), and later sessions over the same weights read it without writing anything.
// - Bounded: before an entry is written, the least recently used entries (by mtime, touched on each use) are removed
//   until the new one fits under `maxBytes`; an entry larger than the bound is not cached (the caller writes a
//   temporary file instead).
// - A kill never leaves an orphan: an entry is written as `<key>.data.tmp-<pid>` and renamed when complete; temporary
//   files and use folders of dead processes are removed by the next process that opens the cache.
// - A concurrent reader is safe: a session reads its entry through a hard link in a folder of its own
//   (`use-<pid>-…/`), so an eviction between the look-up and ONNX Runtime's read unlinks only the cache's name.
//   (ORT 1.29 refuses symlinks that resolve outside the folder it is given; a hard link is the file itself.)
import { createHash } from "node:crypto";
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
import type { GraphBuilder } from "./builder.js";

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

/** The cache key of a graph's initializers: null when a tensor made in JavaScript (`read` without `contentKey`)
 *  would go to the external data, so its content is not known before it is made. */
export function weightsKey(g: GraphBuilder, externalThresholdBytes: number): string | null {
  const h = createHash("sha256").update("shortened-weights-v1");
  for (const [name, t] of g.initializers) {
    h.update(`\0${name}\0${t.type}\0${t.dims.join(",")}\0`);
    if (t.contentKey) h.update(t.contentKey);
    else if (t.read) return null;
    else if (t.data.byteLength >= externalThresholdBytes)
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex").slice(0, 32);
}

/** An entry opened for one session: ORT reads `location` in `folder`; `release` removes the session's link. */
export interface CacheUse {
  folder: string;
  location: string;
  /** whether this call wrote the entry (a miss) */
  wrote: boolean;
  release: () => void;
}

/** The entry `key` of `bytes` bytes, written by `write(path)` on a miss; null when it cannot fit the bound. */
export function useCacheEntry(
  cache: WeightCache,
  key: string,
  bytes: number,
  write: (path: string) => void,
): CacheUse | null {
  if (bytes > cache.maxBytes) return null;
  mkdirSync(cache.dir, { recursive: true });
  removeOrphans(cache.dir);
  const location = `${key}.data`;
  const entry = join(cache.dir, location);
  let wrote = false;
  if (!exists(entry)) {
    evict(cache, bytes);
    const tmp = `${entry}.tmp-${process.pid}`;
    try {
      write(tmp);
      renameSync(tmp, entry);
    } finally {
      rmSync(tmp, { force: true });
    }
    wrote = true;
  }
  const now = new Date();
  const folder = mkdtempSync(join(cache.dir, `use-${process.pid}-`));
  try {
    linkSync(entry, join(folder, location));
    utimesSync(entry, now, now);
  } catch (e) {
    rmSync(folder, { recursive: true, force: true });
    // evicted by another process between the look-up and the link: write it again
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && !wrote)
      return useCacheEntry(cache, key, bytes, write);
    throw e;
  }
  return { folder, location, wrote, release: () => rmSync(folder, { recursive: true, force: true }) };
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
