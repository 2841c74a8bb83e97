// A training run under a memory budget gets glibc's malloc thresholds fixed (the rule: @shortened/contracts/malloc-env,
// tested there): the bin starts the CLI's process with them set, from the sources and from the build; other runs
// are left alone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
// @ts-expect-error plain JavaScript next to the bin, no types
import { cliMallocEnv } from "../apps/cli/bin/malloc-env.js";
import { repoRoot } from "./helpers/cli.js";

const fixed = { MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "131072" };

test("the bin reads a retrain run and its budget off the command line", () => {
  assert.deepEqual(cliMallocEnv(["retrain", "lora", "--memory-budget", "4G"], {}), fixed);
  assert.deepEqual(cliMallocEnv(["retrain", "cpt", "--memory-budget=4G"], {}), fixed);
  assert.deepEqual(cliMallocEnv(["retrain", "lora"], { SHORTENED_MEMORY_BUDGET: "8G" }), fixed);
  assert.deepEqual(cliMallocEnv(["retrain", "lora"], {}), {});
  assert.deepEqual(cliMallocEnv(["eval", "ppl", "--memory-budget", "4G"], {}), {});
  assert.deepEqual(cliMallocEnv(["worker"], { SHORTENED_MEMORY_BUDGET: "8G" }), {});
});

/** MALLOC_MMAP_THRESHOLD_ as seen by every Node process the bin runs (a preload logs it), and the exit code. */
function thresholdsSeen(args: string[], env: NodeJS.ProcessEnv): { code: number | null; seen: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "malloc-env-"));
  try {
    const log = join(dir, "env.log");
    const preload = join(dir, "preload.mjs");
    writeFileSync(
      preload,
      // main threads only: tsx's module hooks run the preload again in a thread of their own
      `import { appendFileSync } from "node:fs";\nimport { isMainThread } from "node:worker_threads";\nif (isMainThread) appendFileSync(${JSON.stringify(log)}, (process.env.MALLOC_MMAP_THRESHOLD_ ?? "unset") + "\\n");\n`,
    );
    const { MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, SHORTENED_MEMORY_BUDGET, ...rest } = process.env;
    const r = spawnSync(process.execPath, [join(repoRoot, "apps/cli/bin/shortened.js"), ...args], {
      env: { ...rest, ...env, NODE_OPTIONS: `--import ${preload}` },
      encoding: "utf8",
      timeout: 60_000,
    });
    return { code: r.status, seen: existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const help = ["retrain", "lora", "--help"];
const sources = { SHORTENED_FROM_SOURCE: "1" };

test("from the sources: the CLI's process has the thresholds under a budget, not without one", () => {
  assert.deepEqual(thresholdsSeen([...help, "--memory-budget", "1G"], sources), {
    code: 0,
    seen: ["unset", "131072"],
  });
  assert.deepEqual(thresholdsSeen(help, sources), { code: 0, seen: ["unset", "unset"] });
});

test("from the build: a budgeted run starts one child with the thresholds, others run in the bin's process", (t) => {
  if (!existsSync(join(repoRoot, "apps/cli/dist/main.js"))) return t.skip("apps/cli is not built");
  assert.deepEqual(thresholdsSeen([...help, "--memory-budget", "1G"], {}), {
    code: 0,
    seen: ["unset", "131072"],
  });
  assert.deepEqual(thresholdsSeen(help, {}), { code: 0, seen: ["unset"] });
});
