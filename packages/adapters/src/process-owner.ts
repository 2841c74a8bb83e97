// Which process owns a run, told apart from a later process that got the same pid: the pid and the process's
// start time (Linux: field 22 of /proc/<pid>/stat, clock ticks since boot). A run whose owner is gone was killed
// (SIGKILL, a crash, a power cut) and will never end on its own: embedded jobs left `running` and FolderRun's
// scratch folders beside --out are cleaned on the next open or run (jobs: embedded.ts, folder-run.ts), and a dead
// reader's cache pins hold nothing (cache/reader-pins.ts).
import { readFileSync, rmSync, writeFileSync } from "node:fs";

export interface ProcessOwner {
  pid: number;
  /** the process's start time, or null where /proc is not available (then the pid alone decides) */
  start: string | null;
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields go on after the last ")"
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

export function currentOwner(): ProcessOwner {
  return { pid: process.pid, start: startTimeOf(process.pid) };
}

/** Whether the owner process still runs (the same process: same pid and start time). */
export function ownerAlive(o: ProcessOwner): boolean {
  if (o.pid === process.pid) return o.start === null || o.start === startTimeOf(process.pid);
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTimeOf(o.pid);
  return o.start === null || now === null || now === o.start;
}

/**
 * This process as the start of a file name: `<pid>.<start>` (no "-" inside, so a name can go on after one).
 * Cache folders name pins, downloads and evictions under way by it, and clean those of processes that ended.
 */
export function ownerTag(): string {
  const o = currentOwner();
  return o.start === null ? String(o.pid) : `${o.pid}.${o.start}`;
}

/** The owner a name starting with ownerTag() names (a bare `<pid>` names the pid alone). */
export function ownerOfTag(name: string): ProcessOwner {
  const [pid, start] = (name.split("-")[0] ?? "").split(".");
  return { pid: Number(pid), start: start || null };
}

export function writeOwner(path: string): void {
  writeFileSync(path, `${JSON.stringify(currentOwner())}\n`);
}

/** The owner recorded in a file; null when the file is missing or unreadable (a kill while writing it). */
export function readOwner(path: string): ProcessOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as ProcessOwner;
    return Number.isInteger(o.pid) ? o : null;
  } catch {
    return null;
  }
}

export function removeOwner(path: string): void {
  rmSync(path, { force: true });
}
