// Local copies of model versions (in the bounded version cache, version-cache.ts) and resumable job state,
// both kept in the artifact store.
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { ArtifactStore, CheckpointStore, VersionInfo } from "@shortened/contracts";
import { jobStatePrefix } from "./keys.js";
import type { VersionCache, VersionSource } from "./version-cache.js";

const COMPLETE = ".complete";

export interface CheckpointOptions {
  /** The worker's version cache; every version read through it is pinned until the attempt ends. */
  cache: VersionCache;
  /** Told each pin's release (the runner releases them when the attempt ends). */
  onPin: (release: () => Promise<void>) => void;
  /** The attempt's scratch folder: versions bigger than the whole cache are downloaded there, for it alone. */
  scratchDir: string;
  /** Throws when the attempt saving state is no longer the job's current one (it must not overwrite). */
  assertCurrent?: () => Promise<void>;
  /** Versions registered from the Hub (storage prefix hf://...): their folder in the Hub cache. */
  hubVersion?: (version: VersionInfo, signal?: AbortSignal) => Promise<string>;
}

export class StoreCheckpoints implements CheckpointStore {
  private readonly assertCurrent: () => Promise<void>;

  constructor(
    private readonly store: ArtifactStore,
    private readonly teamId: string,
    private readonly o: CheckpointOptions,
  ) {
    this.assertCurrent = o.assertCurrent ?? (async () => {});
  }

  async materialize(version: VersionInfo, signal?: AbortSignal): Promise<string> {
    if (version.storagePrefix.startsWith("hf://")) return this.fromHub(version, signal);
    const source = this.source(version, signal);
    const got = await this.o.cache.acquire(source);
    if (got) {
      this.o.onPin(got.release);
      return got.dir;
    }
    return this.uncached(source, join(this.o.scratchDir, "versions"));
  }

  /** The cached copy when there is one, else a copy under `scratch` that stays out of the cache. */
  async stage(version: VersionInfo, scratch: string, signal?: AbortSignal): Promise<string> {
    if (version.storagePrefix.startsWith("hf://")) return this.fromHub(version, signal);
    const got = await this.o.cache.cached(version.id);
    if (got) {
      this.o.onPin(got.release);
      return got.dir;
    }
    return this.uncached(this.source(version, signal), scratch);
  }

  private fromHub(version: VersionInfo, signal?: AbortSignal): Promise<string> {
    if (!this.o.hubVersion)
      throw new Error(`version ${version.id} is on the Hub, and this process has no Hub access`);
    return this.o.hubVersion(version, signal);
  }

  /** The version's files in the store, listed once when first needed. */
  private source(version: VersionInfo, signal?: AbortSignal): VersionSource {
    const prefix = version.storagePrefix.endsWith("/") ? version.storagePrefix : `${version.storagePrefix}/`;
    let listed: Promise<{ key: string; size: number }[]> | undefined;
    const objects = () =>
      (listed ??= this.store.list(prefix).then((all) => {
        if (all.length === 0) throw new Error(`model version ${version.id} has no files under ${prefix}`);
        return all;
      }));
    return {
      id: version.id,
      bytes: async () => (await objects()).reduce((s, x) => s + x.size, 0),
      download: async (into) => {
        for (const x of await objects()) {
          signal?.throwIfAborted();
          await this.store.getToFile(x.key, join(into, x.key.slice(prefix.length)), signal);
        }
      },
    };
  }

  /** A copy for one attempt, under `parent` (complete or not at all). */
  private async uncached(source: VersionSource, parent: string): Promise<string> {
    const dir = join(parent, `version-${source.id}`);
    if (existsSync(join(dir, COMPLETE))) return dir;
    const tmp = `${dir}.partial`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    await source.download(tmp);
    await writeFile(join(tmp, COMPLETE), "");
    await rename(tmp, dir);
    return dir;
  }

  async saveState(jobId: string, dir: string): Promise<void> {
    await this.assertCurrent();
    const prefix = jobStatePrefix(this.teamId, jobId);
    const files = await listFiles(dir);
    const old = await this.store.list(prefix);
    const stamp = `${Date.now()}/`;
    for (const f of files) await this.store.putFile(`${prefix}${stamp}${f}`, join(dir, f));
    // The new state is complete before the old one goes.
    await this.store.putBytes(`${prefix}${stamp}${COMPLETE}`, new Uint8Array());
    try {
      await this.assertCurrent();
    } catch (e) {
      await this.store.deletePrefix(`${prefix}${stamp}`);
      throw e;
    }
    await this.store.delete(old.map((o) => o.key));
  }

  async loadState(jobId: string, dir: string): Promise<boolean> {
    const prefix = jobStatePrefix(this.teamId, jobId);
    const objects = await this.store.list(prefix);
    const done = objects
      .filter((o) => o.key.endsWith(`/${COMPLETE}`))
      .map((o) => o.key.slice(0, -COMPLETE.length));
    const latest = done.sort().at(-1);
    if (!latest) return false;
    for (const o of objects.filter((x) => x.key.startsWith(latest) && !x.key.endsWith(COMPLETE)))
      await this.store.getToFile(o.key, join(dir, o.key.slice(latest.length)));
    return true;
  }
}

export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name !== COMPLETE) out.push(relative(dir, p).split(sep).join("/"));
    }
  };
  await walk(dir);
  return out.sort();
}
