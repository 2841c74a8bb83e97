// Attempt scratch folders: a new attempt removes its job's earlier folders and those of processes that ended
// (a worker killed mid-job), keeps those of live processes and folders made before owners were recorded.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openWorkFolder } from "./work-folders.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("a new attempt removes its job's earlier folders and those of ended processes, nothing else", async () => {
  const root = await mkdtemp(join(tmpdir(), "work-folders-"));
  dirs.push(root);
  const folder = async (name: string, owner?: { pid: number; start: string | null }) => {
    await mkdir(join(root, name, "stage"), { recursive: true });
    await writeFile(join(root, name, "stage", "model.safetensors"), "x");
    if (owner) await writeFile(join(root, `${name}.owner`), JSON.stringify(owner));
  };
  const dead = spawnSync("true").pid as number;
  await folder("job-a-1", { pid: process.ppid, start: null }); // this job's earlier attempt, even alive
  await folder("job-b-1", { pid: dead, start: null }); // a killed worker's
  await folder("job-c-2", { pid: process.ppid, start: null }); // another job running on this machine
  await folder("job-d-1"); // made before owners were recorded
  const work = await openWorkFolder(root, "job-a", 2);
  assert.equal(work.dir, join(root, "job-a-2"));
  assert.deepEqual((await readdir(root)).sort(), [
    "job-a-2",
    "job-a-2.owner",
    "job-c-2",
    "job-c-2.owner",
    "job-d-1",
  ]);
  await work.close();
  assert.ok(!existsSync(work.dir) && !existsSync(`${work.dir}.owner`));
});
