// A CLI run that computes with ONNX Runtime leaves nothing in the temporary folder: no graph folders and no
// /tmp/mat-debug-<pid>.log of ONNX Runtime's telemetry (off unless the operator sets ORT_DISABLE_TELEMETRY).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { jsonOf, runCli } from "./helpers/cli.js";
import { repoRoot } from "./helpers/service.js";

test("generate leaves no file in TMPDIR (ONNX Runtime telemetry is off)", (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "cli-temp-files-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const r = runCli(
    [
      "generate",
      "--model",
      join(repoRoot, "models/tinystories-llama-8L"),
      "--prompt",
      "Once",
      "--max-new-tokens",
      "2",
    ].concat(["--json"]),
    { env: { TMPDIR: tmp }, timeoutMs: 120_000 },
  );
  assert.equal(jsonOf(r).samples.length, 1);
  // tsx (which runs the CLI from source here) keeps its compile cache there; nothing else may stay.
  assert.deepEqual(
    readdirSync(tmp).filter((n) => !n.startsWith("tsx-")),
    [],
  );
});
