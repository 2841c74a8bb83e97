// A second process for hub-lock.test.ts: takes the lock of the folder in argv[2] (owner files in argv[3]) and
// stops right where its lock file has appeared (the `locked` hook), says "locked" and waits for a line on
// stdin: "exit" ends the process there, without releasing (as a kill would); "release" goes on and releases.
import { createInterface } from "node:readline";
import { tryLock } from "../hub-lock.js";

const [folder, scratch] = process.argv.slice(2) as [string, string];
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const release = await tryLock(folder, scratch, {
  locked: async () => {
    process.stdout.write("locked\n");
    const { value } = await lines.next();
    if (value !== "release") process.exit(0);
  },
});
if (!release) throw new Error("lock-holder: the lock was held already");
await release();
process.exit(0);
