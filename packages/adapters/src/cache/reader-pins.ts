// Pins of cache entries by the jobs that read them, seen by every process of the machine: one file per reader
// under <root>/<key>/ named by its owner (pid and start time, process-owner.ts). Eviction skips an entry with a
// live reader's pin. The pins of processes that ended (a worker killed mid-job) are removed when looked at, so
// they never hold an entry for ever, and a later process that got the same pid is not taken for the reader.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ownerAlive, ownerOfTag, ownerTag } from "../process-owner.js";

let pinCount = 0;

export class ReaderPins {
  constructor(readonly root: string) {}

  /** Pins `key` (a relative path) for this process; the release it returns may be called more than once. */
  async pin(key: string): Promise<() => Promise<void>> {
    const dir = join(this.root, key);
    const file = join(dir, `${ownerTag()}-${++pinCount}-${randomBytes(4).toString("hex")}`);
    for (let tries = 0; ; tries++) {
      await mkdir(dir, { recursive: true });
      try {
        await writeFile(file, "");
        break;
      } catch (e) {
        // Another process removed the empty folder between the two calls (pinned() below): make it again.
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
