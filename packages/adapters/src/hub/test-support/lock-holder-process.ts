// Starts lock-holder.ts: another process that takes a download folder's lock and stops where its lock file has
// appeared, until told "exit" (it ends there, as if killed) or "release" on its stdin.
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

export type LockHolder = ChildProcessByStdio<Writable, Readable, null>;

export async function holdInOtherProcess(folder: string, scratch: string): Promise<LockHolder> {
  const script = new URL("./lock-holder.ts", import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    ["--conditions=development", "--import", "tsx", script, folder, scratch],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let out = "";
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes("locked\n")) return child;
  }
  throw new Error(`lock-holder ended before it held the lock (exit ${child.exitCode})`);
}
