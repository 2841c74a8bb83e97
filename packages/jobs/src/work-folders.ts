// Attempt scratch folders, <cacheDir>/work/<job>-<attempt>/, each with its owner beside it (<job>-<attempt>.owner:
// pid and start time, adapters' process-owner.ts). A new attempt removes its own job's earlier folders on this
// machine, and every folder whose owner process ended: a worker killed mid-job whose job another machine then
// finished would otherwise leave that scratch (staged versions, training state) on this disk for ever.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ownerAlive, readOwner, writeOwner } from "@shortened/adapters";

const OWNER = ".owner";

export interface WorkFolder {
  dir: string;
  /** Removes the folder and its owner file (the attempt ended). */
  close: () => Promise<void>;
}

export async function openWorkFolder(workRoot: string, jobId: string, attempt: number): Promise<WorkFolder> {
  await mkdir(workRoot, { recursive: true });
  for (const name of await readdir(workRoot)) {
    if (name.endsWith(OWNER)) continue;
    const owner = readOwner(join(workRoot, name + OWNER));
    // A folder without an owner file was made before owners were recorded: only its own job removes it.
    const abandoned = owner !== null && !ownerAlive(owner);
    if (name.startsWith(`${jobId}-`) || abandoned) await remove(join(workRoot, name));
  }
  const dir = join(workRoot, `${jobId}-${attempt}`);
  writeOwner(dir + OWNER);
  await mkdir(dir, { recursive: true });
  return { dir, close: () => remove(dir) };
}

async function remove(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rm(dir + OWNER, { force: true });
}
