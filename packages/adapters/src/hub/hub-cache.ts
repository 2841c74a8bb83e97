// The Hub download cache: one folder per commit (<dir>/<org>--<name>/<commit>/), shared by every job of a
// worker (and by the workers of one machine), kept under a size bound by dropping the least recently used
// snapshots. A snapshot is visible only once every file arrived with the size and hash the Hub listed;
// a file that stopped half-way stays as a .part beside it and the next try resumes it with a Range request.
// A download in progress counts against the bound at its listed size from its start (hub-reservations.ts),
// one no process carries on at its bytes on disk, and it is the first to go (hub-abandoned.ts).
// A snapshot a job reads is pinned (acquire): a pin file per reader under .pins/ (cache/reader-pins.ts), so
// eviction, in this process or another on the machine, skips it until the reader releases it or dies.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { downloadFile, fileDownloadInfo } from "@huggingface/hub";
import { UserError } from "@shortened/contracts";
import { type CacheEntry, evictLeastRecentlyUsed } from "../cache/lru-eviction.js";
import { ReaderPins } from "../cache/reader-pins.js";
import { abandonedDownloads, removeAbandoned } from "./hub-abandoned.js";
import { type HubConfig, HubIntegrityError, HubTransferError, hubFetch } from "./hub-fetch.js";
import { LOCK, type LockHooks, lockFolder } from "./hub-lock.js";
import { RESERVED, reserve, reservedByOthers } from "./hub-reservations.js";
import { type HubFile, type HubSnapshot, hubProblem } from "./hub-snapshot.js";
import { hubUri } from "./hub-uri.js";

const COMPLETE = ".complete";

export interface HubDownloadProgress {
  file: string;
  bytes: number;
  totalBytes: number;
}

export interface EnsureOptions {
  token?: string;
  /** The team secret the token came from (named in errors, never its value). */
  tokenSecret?: string;
  signal?: AbortSignal;
  onProgress?: (p: HubDownloadProgress) => void;
}

/** Test hooks: where a download stands. */
export interface HubCacheHooks extends LockHooks {
  /** The download holds its lock, its reservation made and room made for it; its files come next. */
  downloading?: (snap: HubSnapshot) => Promise<void> | void;
}

export class HubCache {
  /** Downloads under way in this process, by snapshot folder (the lock file orders processes). */
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly pins: ReaderPins;

  constructor(
    readonly dir: string,
    private readonly cfg: HubConfig,
    private readonly hooks: HubCacheHooks = {},
  ) {
    this.pins = new ReaderPins(join(dir, ".pins"), join(dir, ".evicting"));
  }

  snapshotDir(repo: string, commit: string): string {
    return join(this.dir, repo.replace("/", "--"), commit);
  }

  /** Where the owner files of locks are written before they are linked into place (hub-lock.ts). */
  private get lockScratch(): string {
    return join(this.dir, ".partial", ".locking");
  }

  private partialDir(repo: string, commit: string): string {
    return join(this.dir, ".partial", repo.replace("/", "--"), commit);
  }

  private pinKey(repo: string, commit: string): string {
    return join(repo.replace("/", "--"), commit);
  }

  /**
   * The snapshot's folder (as ensure), pinned until `release`: not evicted meanwhile, even when the cache is
   * over its bound (it then shrinks once the pins are gone). The pin is made before the download starts.
   */
  async acquire(
    snap: HubSnapshot,
    o: EnsureOptions = {},
  ): Promise<{ dir: string; release: () => Promise<void> }> {
    const key = this.pinKey(snap.repo, snap.commit);
    // A snapshot an eviction holds aside right now is waited for, not downloaded again.
    const marker = join(this.snapshotDir(snap.repo, snap.commit), COMPLETE);
    const release =
      (await this.pins.pinIfPresent(key, () => existsSync(marker))) ?? (await this.pins.pin(key));
    try {
      return { dir: await this.ensure(snap, o), release };
    } catch (e) {
      await release();
      throw e;
    }
  }

  /** The snapshot's folder, downloading what is missing; verified before it becomes visible. */
  async ensure(snap: HubSnapshot, o: EnsureOptions = {}): Promise<string> {
    const key = this.snapshotDir(snap.repo, snap.commit);
    for (;;) {
      const running = this.inflight.get(key);
      if (!running) break;
      await running.catch(() => {});
    }
    const p = this.ensureOnce(snap, o);
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async ensureOnce(snap: HubSnapshot, o: EnsureOptions): Promise<string> {
    const dir = this.snapshotDir(snap.repo, snap.commit);
    if (existsSync(join(dir, COMPLETE))) {
      await touch(join(dir, COMPLETE));
      return dir;
    }
    if (snap.totalBytes > this.cfg.cacheMaxBytes)
      throw new UserError(
        "payload_too_large",
        `${hubUri(snap.repo, snap.commit)} needs ${snap.totalBytes} bytes, more than the Hub cache holds (HF_CACHE_MAX_BYTES ${this.cfg.cacheMaxBytes})`,
        422,
      );
    const partial = this.partialDir(snap.repo, snap.commit);
    let release = await lockFolder(partial, this.lockScratch, join(dir, COMPLETE), o.signal, this.hooks);
    if (!release) return dir; // another process finished it while we waited
    try {
      // Counted from now by every other download making room (hub-reservations.ts), until this one is a snapshot.
      await reserve(partial, snap.totalBytes);
      await this.evictFor(snap.totalBytes, dir, partial);
      await this.hooks.downloading?.(snap);
      const fetchPinned = hubFetch(this.cfg.endpoint, { expectCommit: snap.commit });
      let done = 0;
      for (const f of snap.files) {
        o.signal?.throwIfAborted();
        const target = join(partial, f.path);
        if (!(await verified(target, f))) {
          await this.download(snap, f, target, fetchPinned, o, (n) =>
            o.onProgress?.({ file: f.path, bytes: done + n, totalBytes: snap.totalBytes }),
          );
        }
        done += f.size;
        o.onProgress?.({ file: f.path, bytes: done, totalBytes: snap.totalBytes });
      }
      await writeFile(join(partial, COMPLETE), JSON.stringify({ bytes: snap.totalBytes, repo: snap.repo }));
      await mkdir(dirname(dir), { recursive: true });
      await rm(join(partial, RESERVED), { force: true });
      await rm(dir, { recursive: true, force: true });
      // The lock goes with the folder, so no other process takes it before the snapshot is there; the path
      // in .partial/ may then hold another process's lock, which this one's release must not remove.
      await rename(partial, dir);
      await rm(join(dir, LOCK), { force: true });
      release = async () => {};
      return dir;
    } finally {
      await release();
    }
  }

  private async download(
    snap: HubSnapshot,
    f: HubFile,
    target: string,
    fetchPinned: typeof fetch,
    o: EnsureOptions,
    onBytes: (n: number) => void,
  ): Promise<void> {
    const ref = { repo: snap.repo, revision: snap.commit };
    const part = `${target}.part`;
    await mkdir(dirname(target), { recursive: true });
    const common = {
      repo: snap.repo,
      path: f.path,
      revision: snap.commit,
      hubUrl: this.cfg.endpoint,
      fetch: fetchPinned,
      accessToken: o.token,
    };
    let info: Awaited<ReturnType<typeof fileDownloadInfo>>;
    try {
      info = await fileDownloadInfo(common);
    } catch (e) {
      throw hubProblem(e, ref, o.tokenSecret);
    }
    const uri = `${hubUri(snap.repo, snap.commit)}/${f.path}`;
    if (!info)
      throw new UserError(
        "hub_not_found",
        `${uri}: the file is listed but the Hub has no such file (404)`,
        422,
      );
    if (info.xet)
      throw new UserError(
        "hub_unavailable",
        `${uri} is stored with Xet only, which this service does not download`,
        422,
      );
    const etag = info.etag.replace(/^W\//, "").replace(/"/g, "");
    const expected = f.sha256 ?? f.gitOid;
    if (info.size !== f.size || etag !== expected) {
      await rm(part, { force: true });
      throw new HubIntegrityError(
        `${uri} changed under the same name: listed as ${f.size} bytes ${expected}, served as ${info.size} bytes ${etag}`,
      );
    }
    let have = (await stat(part).catch(() => null))?.size ?? 0;
    if (have > f.size) {
      await rm(part, { force: true });
      have = 0;
    }
    if (have < f.size) {
      const blob = await downloadFile({ ...common, downloadInfo: info });
      if (!blob) throw new UserError("hub_not_found", `${uri}: no such file on the Hub (404)`, 422);
      // Each chunk is on disk before the next is read, so a cut-off download leaves exactly `got` bytes in the
      // .part file for the retry to resume from (a piped write stream drops its buffered chunks when destroyed).
      let got = have;
      const file = await open(part, have ? "a" : "w");
      try {
        const web = blob.slice(have).stream() as import("node:stream/web").ReadableStream;
        for await (const chunk of Readable.fromWeb(web, { signal: o.signal }) as AsyncIterable<Buffer>) {
          if (got + chunk.length > f.size)
            throw new HubIntegrityError(`${uri}: more bytes than the ${f.size} listed`);
          await file.write(chunk);
          got += chunk.length;
          onBytes(got);
        }
      } catch (e) {
        await file.close();
        o.signal?.throwIfAborted();
        if (e instanceof HubIntegrityError) {
          await rm(part, { force: true });
          throw e;
        }
        const problem = hubProblem(e, ref, o.tokenSecret);
        if (problem instanceof UserError) throw problem;
        throw new HubTransferError(
          `${uri}: the download stopped at ${got} of ${f.size} bytes (${(e as Error).message ?? e}); a retry resumes it`,
        );
      }
      await file.close();
      if (got < f.size)
        throw new HubTransferError(
          `${uri}: the download stopped at ${got} of ${f.size} bytes; a retry resumes it`,
        );
    }
    if (!(await verified(part, f))) {
      await rm(part, { force: true });
      throw new HubIntegrityError(
        `${uri}: the downloaded bytes do not hash to ${expected} (the file changed under the same name, or was corrupted)`,
      );
    }
    await rename(part, target);
  }

  /**
   * Drops abandoned downloads, then least recently used snapshots that nobody pins, until `bytes` more fit
   * under the bound, beside what the other downloads in progress reserved (`own` is this download's folder).
   */
  private async evictFor(bytes: number, keep: string, own: string): Promise<void> {
    const entries: CacheEntry[] = [];
    for (const repo of await readdir(this.dir).catch(() => [] as string[])) {
      if (repo.startsWith(".")) continue;
      for (const commit of await readdir(join(this.dir, repo)).catch(() => [] as string[])) {
        const d = join(this.dir, repo, commit);
        const marker = join(d, COMPLETE);
        const st = await stat(marker).catch(() => null);
        if (!st || d === keep) continue;
        const size =
          (JSON.parse(await readFile(marker, "utf8").catch(() => "{}")) as { bytes?: number }).bytes ?? 0;
        entries.push({ dir: d, key: join(repo, commit), bytes: size, usedMs: st.mtimeMs });
      }
    }
    const partialRoot = join(this.dir, ".partial");
    const need = bytes + (await reservedByOthers(partialRoot, own));
    // Abandoned downloads count as in use, and go first (hub-abandoned.ts).
    const snapshots = entries.reduce((n, e) => n + e.bytes, 0);
    const abandoned = await abandonedDownloads(partialRoot, own);
    let left = abandoned.reduce((n, a) => n + a.bytes, 0);
    for (const a of abandoned) {
      if (snapshots + left + need <= this.cfg.cacheMaxBytes) break;
      if (await removeAbandoned(a.dir, this.lockScratch)) left -= a.bytes;
    }
    await evictLeastRecentlyUsed({
      entries,
      need: need + left,
      maxBytes: this.cfg.cacheMaxBytes,
      pins: this.pins,
    });
  }

  /** Complete snapshots in the cache (for tests and operators). */
  async list(): Promise<{ repo: string; commit: string; bytes: number }[]> {
    const out: { repo: string; commit: string; bytes: number }[] = [];
    for (const repo of await readdir(this.dir).catch(() => [] as string[])) {
      if (repo.startsWith(".")) continue;
      for (const commit of await readdir(join(this.dir, repo)).catch(() => [] as string[])) {
        const marker = join(this.dir, repo, commit, COMPLETE);
        if (!existsSync(marker)) continue;
        const { bytes = 0 } = JSON.parse(await readFile(marker, "utf8")) as { bytes?: number };
        out.push({ repo: repo.replace("--", "/"), commit, bytes });
      }
    }
    return out;
  }

  /** Forgets a snapshot (a registration that failed its checkpoint checks). */
  async drop(repo: string, commit: string): Promise<void> {
    await rm(this.snapshotDir(repo, commit), { recursive: true, force: true });
  }
}

async function touch(p: string): Promise<void> {
  const now = new Date();
  await utimes(p, now, now).catch(() => {});
}

/** Whether `path` holds the listed file (size, then LFS sha256 or git blob id). */
async function verified(path: string, f: HubFile): Promise<boolean> {
  const st = await stat(path).catch(() => null);
  if (!st || st.size !== f.size) return false;
  const h = createHash(f.sha256 ? "sha256" : "sha1");
  if (!f.sha256) h.update(`blob ${f.size}\0`);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex") === (f.sha256 ?? f.gitOid);
}
