// The snapshot download lock across processes: a lock another process is making is held from the moment its
// file appears (the owner is in it), and a dead owner's lock is taken over.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ownerOfTag } from "../process-owner.js";
import { LOCK, lockHeld, tryLock } from "./hub-lock.js";
import { holdInOtherProcess } from "./test-support/lock-holder-process.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "hub-lock-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("a lock is held by its owner from the moment its file appears; another process waits", async (t) => {
  const folder = join(root, "held", "org--m", "c1");
  const scratch = join(root, "held", ".locking");
  const child = await holdInOtherProcess(folder, scratch);
  t.after(() => child.kill()); // a failed check leaves no process waiting
  // The other process stands right after its lock appeared: the lock is its, and names it already.
  assert.equal(await tryLock(folder, scratch), null, "the lock was taken a second time");
  assert.equal(await lockHeld(folder), true);
  assert.equal(ownerOfTag(await readFile(join(folder, LOCK), "utf8")).pid, child.pid);
  child.stdin.end("release\n");
  await once(child, "exit");
  const release = await tryLock(folder, scratch);
  assert.ok(release, "the released lock is free");
  await release();
  assert.deepEqual(await readdir(folder), []);
  assert.deepEqual(await readdir(scratch), [], "no owner file is left behind");
});

test("a lock whose owner ended, or that names no process, is taken over", async (t) => {
  const folder = join(root, "dead", "org--m", "c1");
  const scratch = join(root, "dead", ".locking");
  const child = await holdInOtherProcess(folder, scratch);
  t.after(() => child.kill()); // a failed check leaves no process waiting
  child.stdin.end("exit\n"); // ends without releasing, as a killed process would
  await once(child, "exit");
  assert.equal(await lockHeld(folder), false);
  const release = await tryLock(folder, scratch);
  assert.ok(release, "the dead process's lock is taken over");
  assert.equal(ownerOfTag(await readFile(join(folder, LOCK), "utf8")).pid, process.pid);
  await release();
  await writeFile(join(folder, LOCK), "not an owner");
  const again = await tryLock(folder, scratch);
  assert.ok(again);
  await again();
});
