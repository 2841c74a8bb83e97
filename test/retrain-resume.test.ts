// Resume: a `shortened retrain` run SIGKILLed after its first saved state, then restarted with the same
// command, ends with exactly the bytes of an uninterrupted run (CPU, one thread).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { jsonOf, runCli } from "./helpers/cli.js";
import { killAfterFirstState } from "./helpers/kill-after-state.js";

const fixtures = fileURLToPath(new URL("../packages/engine/src/fixtures/train/", import.meta.url));

for (const method of ["cpt", "lora"] as const) {
  test(`retrain ${method}: SIGKILL mid-run, restart, same final bytes as an uninterrupted run`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), "resume-"));
    try {
      const f = JSON.parse(readFileSync(join(fixtures, "llama.json"), "utf8"));
      const ids = join(tmp, "train.json");
      writeFileSync(ids, JSON.stringify(f.train));
      const base = ["retrain", method, "--model", join(fixtures, "llama"), "--ids", ids];
      const opts = [
        "--steps",
        "16",
        "--batch",
        "2",
        "--grad-accum",
        "2",
        "--lr",
        "1e-3",
        "--warmup",
        "2",
        "--r",
        "4",
        "--threads",
        "1",
        "--json",
      ];
      const straight = jsonOf(runCli([...base, "--out", join(tmp, "a"), ...opts]));
      const killedOut = join(tmp, "b");
      const resumeArgs = [...base, "--out", killedOut, ...opts, "--checkpoint-every", "2"];
      // the job handler keeps one state folder per phase
      await killAfterFirstState(resumeArgs, join(`${killedOut}.train-state`, method));
      assert.ok(!existsSync(killedOut), "the killed run must not have written its output");
      const resumed = jsonOf(runCli(resumeArgs));
      assert.ok(
        resumed.resumedFrom > 0 && resumed.resumedFrom < 16,
        `resumed from step ${resumed.resumedFrom}`,
      );
      assert.deepEqual(resumed.losses, straight.losses);
      const file = method === "lora" ? "adapter_model.safetensors" : "model.safetensors";
      assert.ok(
        readFileSync(join(killedOut, file)).equals(readFileSync(join(tmp, "a", file))),
        `${file} differs`,
      );
      assert.ok(!existsSync(`${killedOut}.train-state`), "the state folder is removed after a finished run");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}
