// Downloads no process carries on: a folder under the Hub cache's .partial/ whose lock is gone or names a
// process that ended (killed mid-download, or an attempt that failed). Its files, the .part of the file it
// stopped in included, use disk, so they count against HF_CACHE_MAX_BYTES as in use. The next download of the
// same snapshot resumes them; when another download needs room they go first, oldest first, before any finished
// snapshot (which a job can read as it is). A folder is removed under its own lock, so never while a download
// resumes it.
import { readdir, rm, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LOCK, lockHeld, tryLock } from "./hub-lock.js";
import { diskUse } from "./hub-reservations.js";

export interface AbandonedDownload {
  dir: string;
  bytes: number;
  /** when a file of it was last written (ms) */
  usedMs: number;
}

/** The abandoned download folders under `partialRoot` (<root>/<repo>/<commit>/), all but `own`, oldest first. */
export async function abandonedDownloads(partialRoot: string, own: string): Promise<AbandonedDownload[]> {
  const found: AbandonedDownload[] = [];
  for (const repo of await readdir(partialRoot).catch(() => [] as string[])) {
    if (repo.startsWith(".")) continue; // .locking: the owner files of locks being made (hub-lock.ts)
    for (const commit of await readdir(join(partialRoot, repo)).catch(() => [] as string[])) {
      const dir = join(partialRoot, repo, commit);
      if (dir === own || (await lockHeld(dir))) continue;
      const use = await diskUse(dir);
      found.push({ dir, bytes: use.bytes, usedMs: use.newestMs });
    }
  }
  return found.sort((a, b) => a.usedMs - b.usedMs);
}

/** Deletes an abandoned download under its lock; false when a live process took the lock first. */
export async function removeAbandoned(dir: string, lockScratch: string): Promise<boolean> {
  const release = await tryLock(dir, lockScratch);
  if (!release) return false;
  try {
    for (const name of await readdir(dir))
      if (name !== LOCK) await rm(join(dir, name), { recursive: true, force: true });
  } finally {
    await release();
  }
  // Not empty when a download took the folder since: it starts over in it.
  await rmdir(dir).catch(() => {});
  await rmdir(dirname(dir)).catch(() => {});
  return true;
}
