// Local copies of model versions (downloaded once into a cache folder) and resumable job state, both
// kept in the artifact store.
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { ArtifactStore, CheckpointStore, VersionInfo } from "@shortened/contracts";
import { jobStatePrefix } from "./keys.js";

const COMPLETE = ".complete";

export class StoreCheckpoints implements CheckpointStore {
  constructor(
    private readonly store: ArtifactStore,
    private readonly cacheDir: string,
    private readonly teamId: string,
    /** Throws when the attempt saving state is no longer the job's current one (it must not overwrite). */
    private readonly assertCurrent: () => Promise<void> = async () => {},
    /** Versions registered from the Hub (storage prefix hf://...): their folder in the Hub cache. */
    private readonly hubVersion?: (version: VersionInfo, signal?: AbortSignal) => Promise<string>,
  ) {}

  async materialize(version: VersionInfo, signal?: AbortSignal): Promise<string> {
    if (version.storagePrefix.startsWith("hf://")) return this.fromHub(version, signal);
    const dir = join(this.cacheDir, "versions", version.id);
    if (existsSync(join(dir, COMPLETE))) return dir;
    return this.download(version, dir, signal);
  }

  /** The cached copy when there is one, else a copy under `scratch` that stays out of the cache. */
  async stage(version: VersionInfo, scratch: string, signal?: AbortSignal): Promise<string> {
    if (version.storagePrefix.startsWith("hf://")) return this.fromHub(version, signal);
    const cached = join(this.cacheDir, "versions", version.id);
    if (existsSync(join(cached, COMPLETE))) return cached;
    return this.download(version, join(scratch, `version-${version.id}`), signal);
  }

  private fromHub(version: VersionInfo, signal?: AbortSignal): Promise<string> {
    if (!this.hubVersion)
      throw new Error(`version ${version.id} is on the Hub, and this process has no Hub access`);
    return this.hubVersion(version, signal);
  }

  /** Downloads the version's files into `dir` (complete or not at all). */
  private async download(version: VersionInfo, dir: string, signal?: AbortSignal): Promise<string> {
    const prefix = version.storagePrefix.endsWith("/") ? version.storagePrefix : `${version.storagePrefix}/`;
    const objects = await this.store.list(prefix);
    if (objects.length === 0) throw new Error(`model version ${version.id} has no files under ${prefix}`);
    // Download into a temporary folder, then rename: a crash never leaves a half folder marked complete.
    const tmp = `${dir}.partial-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    try {
      for (const o of objects) {
        signal?.throwIfAborted();
        await this.store.getToFile(o.key, join(tmp, o.key.slice(prefix.length)), signal);
      }
      await writeFile(join(tmp, COMPLETE), "");
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    try {
      await rename(tmp, dir);
    } catch (e) {
      // Another worker sharing this cache finished the same download first: use its copy.
      await rm(tmp, { recursive: true, force: true });
      if (!existsSync(join(dir, COMPLETE))) throw e;
    }
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
