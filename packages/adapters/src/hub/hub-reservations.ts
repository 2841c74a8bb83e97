// Downloads in progress count against the Hub cache's bound. A download's folder under .partial/ holds a
// reservation of the snapshot's size (the sizes the Hub listed for its files) from before it takes the folder's
// lock until it becomes a snapshot (written under the lock, before the download makes room for itself); another download making room counts it as in use, and never evicts it. So
// two downloads that start together evict for each other, instead of each making room for itself alone.
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lockHeld } from "./hub-lock.js";

/** The reservation file in a download's folder: {"bytes": n}. */
export const RESERVED = ".reserved";

/** Reserves `bytes` for the download into `partial` (a folder that exists). */
export async function reserve(partial: string, bytes: number): Promise<void> {
  await writeFile(join(partial, RESERVED), JSON.stringify({ bytes }));
}

/**
 * The bytes that downloads in progress under `partialRoot` (<root>/<repo>/<commit>/) hold or will hold, all
 * but `own`'s: each its reservation, or the bytes it has on disk where those are more (or where it has no
 * reservation, as one left by an older version). A folder whose lock is gone or names a process that ended is
 * no download in progress: what it left is resumed by the next download of that snapshot.
 */
export async function reservedByOthers(partialRoot: string, own: string): Promise<number> {
  let total = 0;
  for (const repo of await readdir(partialRoot).catch(() => [] as string[])) {
    if (repo.startsWith(".")) continue; // .locking: the owner files of locks being made (hub-lock.ts)
    for (const commit of await readdir(join(partialRoot, repo)).catch(() => [] as string[])) {
      const dir = join(partialRoot, repo, commit);
      if (dir === own || !(await lockHeld(dir))) continue;
      const reserved = await readFile(join(dir, RESERVED), "utf8")
        .then((t) => (JSON.parse(t) as { bytes?: number }).bytes ?? 0)
        .catch(() => 0);
      total += Math.max(reserved, (await diskUse(dir)).bytes);
    }
  }
  return total;
}

/** The bytes of the files under `dir`, and when the newest of them was last written (ms; 0 when none). */
export async function diskUse(dir: string): Promise<{ bytes: number; newestMs: number }> {
  const use = { bytes: 0, newestMs: 0 };
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    const inner = e.isDirectory()
      ? await diskUse(p)
      : await stat(p).then(
          (st) => ({ bytes: e.isFile() ? st.size : 0, newestMs: st.mtimeMs }),
          () => ({ bytes: 0, newestMs: 0 }),
        );
    use.bytes += inner.bytes;
    use.newestMs = Math.max(use.newestMs, inner.newestMs);
  }
  return use;
}
