// One downloader per snapshot across the processes of a machine: a `.lock` file in the download's folder that
// names its owner (ownerTag: pid and start time). The file appears with its owner already in it: the owner is
// written to a file of its own first and then hard-linked into place, which fails when a lock exists. So no
// process ever sees a lock without an owner (an empty one would read as dead and be taken a second time).
// A lock whose owner ended is taken over: moved aside in one rename, and put back if what was moved turned out
// to be another live process's new lock rather than the dead one read before. (A third process that links its
// own lock in the moment before that put-back would hold it too: closing that needs flock, which Node lacks.)
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { link, mkdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { removeLeftovers } from "../cache/lru-eviction.js";
import { ownerAlive, ownerOfTag, ownerTag } from "../process-owner.js";

/** The lock file in a download's folder: the owner (ownerTag) of the process downloading into it. */
export const LOCK = ".lock";

/** Test hooks: where a lock stands. */
export interface LockHooks {
  /** The lock file is in place (not yet released): another process must now see it as held. */
  locked?: (lock: string) => Promise<void> | void;
}

/** Whether a lock's text names a live process (this one included); one naming no process is a dead one's. */
function liveOwner(text: string): boolean {
  const owner = ownerOfTag(text.trim());
  return Number.isInteger(owner.pid) && owner.pid > 0 && ownerAlive(owner);
}

/** Whether the lock in `folder` names a live process. */
export async function lockHeld(folder: string): Promise<boolean> {
  const owner = await readFile(join(folder, LOCK), "utf8").catch(() => null);
  return owner !== null && liveOwner(owner);
}

/**
 * Takes the lock of `folder` (made if missing) if no live process holds it, taking over from a dead one.
 * `scratch` is a folder on the same file system for the owner files before they are linked into place.
 * Resolves the release, or null while a live process holds it.
 */
export async function tryLock(
  folder: string,
  scratch: string,
  hooks: LockHooks = {},
): Promise<(() => Promise<void>) | null> {
  const lock = join(folder, LOCK);
  const me = ownerTag();
  await mkdir(scratch, { recursive: true });
  await removeLeftovers(scratch); // owner files of processes killed between writing and linking them
  const mine = join(scratch, `${me}-${randomBytes(6).toString("hex")}`);
  await writeFile(mine, me);
  try {
    for (;;) {
      await mkdir(folder, { recursive: true });
      const linked = await link(mine, lock).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === "EEXIST" || e.code === "ENOENT") return false;
          throw e;
        },
      );
      if (linked) {
        await hooks.locked?.(lock);
        return async () => {
          await rm(lock, { force: true });
        };
      }
      const owner = await readFile(lock, "utf8").catch(() => null);
      if (owner === null) continue; // released (or its folder removed) meanwhile
      if (liveOwner(owner)) return null;
      await takeOver(lock, owner, scratch);
    }
  } finally {
    await rm(mine, { force: true });
  }
}

/** Removes `lock` if it still holds `deadOwner`: moved aside, then put back where it was another's. */
async function takeOver(lock: string, deadOwner: string, scratch: string): Promise<void> {
  const aside = join(scratch, `${ownerTag()}-aside-${randomBytes(6).toString("hex")}`);
  const moved = await rename(lock, aside).then(
    () => true,
    () => false, // another process took it over first
  );
  if (!moved) return;
  if ((await readFile(aside, "utf8").catch(() => null)) !== deadOwner)
    await link(aside, lock).catch(() => {}); // a live process's lock taken in between: it keeps it
  await rm(aside, { force: true });
}

/**
 * Waits for the lock of `folder` while a live process holds it. Resolves null when `done` (the finished
 * snapshot's marker) appears meanwhile.
 */
export async function lockFolder(
  folder: string,
  scratch: string,
  done: string,
  signal?: AbortSignal,
  hooks: LockHooks = {},
): Promise<(() => Promise<void>) | null> {
  for (;;) {
    signal?.throwIfAborted();
    if (existsSync(done)) return null;
    const release = await tryLock(folder, scratch, hooks);
    if (release && existsSync(done)) {
      // the owner made it a snapshot between the check and the lock: this folder is a new, empty one
      await release();
      await rmdir(folder).catch(() => {});
      return null;
    }
    if (release) return release;
    await new Promise((r) => setTimeout(r, 300));
  }
}
