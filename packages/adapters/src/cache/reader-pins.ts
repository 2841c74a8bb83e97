// Pins of cache entries by the jobs that read them, seen by every process of the machine: one file per reader
// under <root>/<key>/ named by its owner (pid and start time, process-owner.ts). Eviction skips an entry with a
// live reader's pin. The pins of processes that ended (a worker killed mid-job) are removed when looked at, so
// they never hold an entry for ever, and a later process that got the same pid is not taken for the reader.
// An eviction moves an entry aside (to <asideDir>/<owner>-<n>-<key>) before its last look at the pins and puts it
// back when a pin came in: a reader asks pinIfPresent, which waits such a move out instead of missing the entry.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ownerAlive, ownerOfTag, ownerTag } from "../process-owner.js";

let pinCount = 0;
let asideCount = 0;

/** Points where tests stop a reader or an evictor, to run the other in between (no timing). */
export interface PinHooks {
  /** an eviction has moved `key` aside and has not looked at its pins again yet */
  movedAside?: (key: string) => Promise<void>;
  /** a reader found `key` missing while an eviction holds it aside, and waits */
  waitingForEviction?: (key: string) => void;
}

export class ReaderPins {
  hooks: PinHooks = {};

  constructor(
    readonly root: string,
    /** where evictions move entries while they look at the pins again (same file system as the entries) */
    readonly asideDir: string,
  ) {}

  /** A fresh name in asideDir for an eviction of `key` by this process. */
  asideName(key: string): string {
    return join(this.asideDir, `${ownerTag()}-${++asideCount}-${encodeURIComponent(key)}`);
  }

  /**
   * Pins `key` when `present()` says the entry is there; null (nothing pinned) when it is not. An entry that an
   * eviction holds aside is waited for: with the pin made first, the eviction either puts it back or had
   * already decided before the pin, so the answer is the entry's state once the move is over.
   */
  async pinIfPresent(
    key: string,
    present: () => boolean | Promise<boolean>,
  ): Promise<(() => Promise<void>) | null> {
    const release = await this.pin(key);
    for (;;) {
      if (await present()) return release;
      if (!(await this.evicting(key))) break;
      this.hooks.waitingForEviction?.(key);
      await sleep(2);
    }
    // Looked at again after seeing no move: one that ended between the first look and the scan put it back.
    if (await present()) return release;
    await release();
    return null;
  }

  /** Whether a live process holds `key` aside. */
  private async evicting(key: string): Promise<boolean> {
    const suffix = `-${encodeURIComponent(key)}`;
    for (const name of await readdir(this.asideDir).catch(() => [] as string[])) {
      // <owner>-<n>-<key>: the owner has no "-", n is digits, the key is encoded (no "/")
      const rest = name.slice(name.indexOf("-") + 1);
      if (rest.slice(rest.indexOf("-")) === suffix && ownerAlive(ownerOfTag(name))) return true;
    }
    return false;
  }

  /** Pins `key` (a relative path) for this process; the release it returns may be called more than once. */
  async pin(key: string): Promise<() => Promise<void>> {
    const dir = join(this.root, key);
    const file = join(dir, `${ownerTag()}-${++pinCount}-${randomBytes(4).toString("hex")}`);
    for (let tries = 0; ; tries++) {
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(file, "");
        break;
      } catch (e) {
        // Another reader's release or pinned() below removed the empty folder meanwhile (even inside the
        // recursive mkdir, between its own steps): make it again.
        if ((e as NodeJS.ErrnoException).code !== "ENOENT" || tries >= 5) throw e;
      }
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await rm(file, { force: true });
      await rmdir(dir).catch(() => {}); // the last reader's release leaves no empty folder
    };
  }

  /** Whether a live process pins `key`; the pins of ended processes are removed on the way. */
  async pinned(key: string): Promise<boolean> {
    const dir = join(this.root, key);
    let live = false;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      // (An older cache's pins are named by the pid alone.)
      if (ownerAlive(ownerOfTag(name))) live = true;
      else await rm(join(dir, name), { force: true });
    }
    // One empty folder per entry ever read would grow without bound: remove it (fails if a pin came in).
    if (!live) await rmdir(dir).catch(() => {});
    return live;
  }
}
