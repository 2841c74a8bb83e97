// Runs killed with their CLI process (a real kill -9 of the child), issue 12 / embedded mode:
// - an embedded job left `running` is failed as interrupted when the state folder is next opened, and
//   `jobs retry` then runs it again, the retraining resuming from the state it had saved;
// - FolderRun's scratch folder `.<out>.work-…` left beside --out is removed by the next run with that --out.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { jsonOf, repoRoot, runCli } from "./helpers/cli.js";

const cliMain = fileURLToPath(new URL("../apps/cli/src/main.ts", import.meta.url));
const DEMO = join(repoRoot, "models", "tinystories-llama-8L");
const dir = mkdtempSync(join(tmpdir(), "embedded-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const ids = Array.from({ length: 8 }, (_, r) =>
  Array.from({ length: 24 }, (_, t) => 3 + ((r * 131 + t * 17) % 500)),
);

function startCli(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--conditions=development", "--import", "tsx", cliMain, ...args], {
    cwd: repoRoot,
    stdio: "ignore",
  });
}

async function until<T>(what: string, probe: () => T | null | undefined | false, ms = 180_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function kill9(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Files under `root` whose path contains `part` (recursive). */
function findPaths(root: string, part: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) => p.includes(part));
}

test("an embedded job killed with its process is failed as interrupted on next open; retry resumes it", async () => {
  const state = ["--state-dir", join(dir, "state")];
  jsonOf(runCli(["models", "register", "tiny", "--path", DEMO, "--json", ...state]));
  const spec = {
    kind: "retrain",
    model: "tiny",
    method: "lora",
    merge: false,
    data: { ids },
    steps: 300,
    batch: 2,
    checkpointEvery: 5,
    threads: 1,
  };
  const child = startCli(["jobs", "submit", "--spec", JSON.stringify(spec), "--json", ...state]);
  // killed once the job has saved a complete resumable state (its `.complete` marker is written last: a state
  // still being written is not one to resume from), and recorded its owner
  await until("saved training state", () =>
    findPaths(join(dir, "state", "artifacts"), "/state/").some((p) => p.endsWith("/.complete")),
  );
  const owners = readdirSync(join(dir, "state", "runs"));
  assert.equal(owners.length, 1, "the run records its owner process");
  await kill9(child);
  const jobId = owners[0]!.replace(/\.json$/, "");

  const job = jsonOf(runCli(["jobs", "get", jobId, "--json", ...state]));
  assert.equal(job.state, "failed", JSON.stringify(job));
  assert.equal(job.errorCode, "interrupted");
  assert.match(job.reason, /^interrupted: the process that ran it \(pid \d+\) ended before the job finished/);
  assert.deepEqual(readdirSync(join(dir, "state", "runs")), [], "the stale record is gone");

  const retried = runCli(["jobs", "retry", jobId, "--json", ...state]);
  assert.equal(retried.code, 0, retried.stderr);
  const done = jsonOf(runCli(["jobs", "get", jobId, "--json", ...state]));
  assert.equal(done.state, "succeeded", JSON.stringify(done));
  assert.equal(done.attempts, 2);
  const resumedFrom = done.result.phases[0].resumedFrom;
  assert.ok(resumedFrom >= 5 && resumedFrom % 5 === 0, `resumed from step ${resumedFrom}`);
});

test("a file-mode run killed with its process leaves .<out>.work-…; the next run with that --out removes it", async () => {
  const idsFile = join(dir, "ids.json");
  writeFileSync(idsFile, JSON.stringify({ batch: ids }));
  const out = join(dir, "adapter");
  const args = [
    "retrain",
    "lora",
    "--model",
    DEMO,
    "--ids",
    idsFile,
    "--out",
    out,
    "--batch",
    "2",
    "--no-merge",
    "--threads",
    "1",
  ];
  const child = startCli([...args, "--steps", "100000"]);
  const scratch = await until("the scratch folder", () =>
    readdirSync(dir).find((n) => n.startsWith(".adapter.work-") && existsSync(join(dir, n, "owner.json"))),
  );
  await kill9(child);
  assert.ok(existsSync(join(dir, scratch)), "left behind by the kill");
  // a live run's scratch folder beside the same --out is not touched
  const live = join(dir, `.adapter.work-${process.pid}-00000000`);
  mkdirSync(live);
  // (the killed run's resumable training state is its own matter: this run starts over)
  rmSync(`${out}.train-state`, { recursive: true, force: true });

  const r = runCli([...args, "--steps", "2", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(join(dir, scratch)), "the dead run's scratch folder was removed");
  assert.ok(existsSync(live), "a live process's scratch folder stays");
  rmSync(live, { recursive: true });
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith(".adapter.")),
    [],
    "nothing else beside --out",
  );
});
