// The worker's copies of model versions from the artifact store (<cacheDir>/versions/<id>/), shared by the jobs
// of a worker and by the workers of one machine, kept under VERSION_CACHE_MAX_BYTES by dropping the least
// recently used versions nobody reads. An attempt pins each version it reads until it ends (adapters'
// cache/reader-pins.ts), so eviction by any process skips it. A version is downloaded into .partial/ and renamed
// into place with its marker, so a worker killed mid-download leaves no half version anyone uses; what it left is
// removed by the next download on the machine. Downloads under way count against the bound. A version bigger
// than the whole bound is not cached (null: the caller downloads it for the one attempt).
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  bytesSetting,
  type CacheEntry,
  evictLeastRecentlyUsed,
  ownerAlive,
  ownerTag,
  ReaderPins,
  removeLeftovers,
} from "@shortened/adapters";

const COMPLETE = ".complete";
let downloads = 0;

/** 100 GiB: seven LLaMA-2-7B versions in BF16 (13.5 GB each). */
export const DEFAULT_VERSION_CACHE_MAX_BYTES = 100 * 2 ** 30;

export function versionCacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return bytesSetting(env, "VERSION_CACHE_MAX_BYTES", DEFAULT_VERSION_CACHE_MAX_BYTES);
}

/** Where a version's files come from; asked only when the cache does not hold it. */
export interface VersionSource {
  id: string;
  bytes(): Promise<number>;
  /** Writes the version's files into `into` (an empty folder). */
  download(into: string): Promise<void>;
}

export interface PinnedVersion {
  dir: string;
  release: () => Promise<void>;
}

export class VersionCache {
  readonly dir: string;
  private readonly pins: ReaderPins;

  constructor(
    cacheDir: string,
    readonly maxBytes: number,
  ) {
    this.dir = join(cacheDir, "versions");
    this.pins = new ReaderPins(join(this.dir, ".pins"), join(this.dir, ".evicting"));
  }

  /** The cached version, pinned until `release`; null (nothing pinned) when the cache does not hold it. */
  async cached(id: string): Promise<PinnedVersion | null> {
    const dir = join(this.dir, id);
    const marker = join(dir, COMPLETE);
    const release = await this.pins.pinIfPresent(id, () => existsSync(marker));
    if (!release) return null;
    const now = new Date();
    await utimes(marker, now, now).catch(() => {}); // recently used
    return { dir, release };
  }

  /** The version, downloaded when the cache does not hold it, pinned until `release`; null when it does not fit. */
  async acquire(source: VersionSource): Promise<PinnedVersion | null> {
    const hit = await this.cached(source.id);
    if (hit) return hit;
    const bytes = await source.bytes();
    if (bytes > this.maxBytes) return null;
    // Pinned before the download starts: another process's eviction cannot take it right after the rename.
    const release = await this.pins.pin(source.id);
    try {
      const dir = join(this.dir, source.id);
      // The download's folder names its size, so that evictions running meanwhile leave room for it.
      const tmp = join(this.dir, ".partial", `${ownerTag()}-${++downloads}-${bytes}-${source.id}`);
      await mkdir(tmp, { recursive: true });
      try {
        const entries = await this.entries(source.id);
        await evictLeastRecentlyUsed({
          entries,
          need: bytes + (await this.downloading(tmp)),
          maxBytes: this.maxBytes,
          pins: this.pins,
        });
        await source.download(tmp);
        await writeFile(join(tmp, COMPLETE), JSON.stringify({ bytes }));
        await this.install(tmp, dir);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      return { dir, release };
    } catch (e) {
      await release();
      throw e;
    }
  }

  /** Moves a complete download into place; another process's copy that arrived first wins. */
  private async install(tmp: string, dir: string): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        await rename(tmp, dir);
        return;
      } catch (e) {
        if (existsSync(join(dir, COMPLETE))) return;
        // A folder without its marker is never used: replace it.
        if (tries > 0) throw e;
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  /**
   * The complete versions but `except`, with their size and last use. On the way, removes what no one will
   * finish: downloads of processes that ended, and folders without a marker (an older cache's half copies).
   */
  private async entries(except?: string): Promise<CacheEntry[]> {
    await removeLeftovers(join(this.dir, ".partial"));
    const out: CacheEntry[] = [];
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.startsWith(".")) continue;
      const dir = join(this.dir, name);
      // Before the version cache had a bound, downloads went to <id>.partial-<pid>-<time> beside the versions.
      const legacy = /\.partial-(\d+)-/.exec(name);
      if (legacy) {
        if (!ownerAlive({ pid: Number(legacy[1]), start: null }))
          await rm(dir, { recursive: true, force: true });
        continue;
      }
      const marker = join(dir, COMPLETE);
      const st = await stat(marker).catch(() => null);
      if (!st) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (name !== except) out.push({ dir, key: name, bytes: await sizeOf(dir, marker), usedMs: st.mtimeMs });
    }
    return out;
  }

  /** Bytes that downloads of live processes (but `except`) will add: named <owner>-<n>-<bytes>-<id>. */
  private async downloading(except: string): Promise<number> {
    let total = 0;
    for (const name of await readdir(join(this.dir, ".partial")).catch(() => [] as string[]))
      if (join(this.dir, ".partial", name) !== except) total += Number(name.split("-")[2]) || 0;
    return total;
  }

  /** The cached versions, least recently used first (for tests and operators). */
  async list(): Promise<{ id: string; bytes: number }[]> {
    const entries = await this.entries();
    return entries.sort((a, b) => a.usedMs - b.usedMs).map((e) => ({ id: e.key, bytes: e.bytes }));
  }
}

/** The size the marker records; an older cache's empty marker: the files' sizes added up. */
async function sizeOf(dir: string, marker: string): Promise<number> {
  try {
    const { bytes } = JSON.parse(await readFile(marker, "utf8")) as { bytes?: unknown };
    if (typeof bytes === "number") return bytes;
  } catch {
    // empty or unreadable: count the files
  }
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else total += (await stat(join(d, e.name))).size;
    }
  };
  await walk(dir);
  return total;
}
