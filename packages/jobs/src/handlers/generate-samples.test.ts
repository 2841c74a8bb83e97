// The generate task stops within a token of a cancel (the runner aborts the job's signal).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { EvaluateGenerateSpec, type Ports } from "@shortened/contracts";
import { generateSamples } from "./generate-samples.js";

const demo = fileURLToPath(new URL("../../../../models/tinystories-llama-8L", import.meta.url));

test("a cancel during generation stops it at the next token", async () => {
  const workDir = mkdtempSync(join(tmpdir(), "shortened-generate-"));
  const controller = new AbortController();
  let steps = 0;
  const ports = {
    signal: controller.signal,
    context: { workDir },
    progress: { progress() {}, log() {} },
  } as unknown as Ports;
  const spec = EvaluateGenerateSpec.parse({
    kind: "evaluate",
    model: "m",
    task: "generate",
    prompts: ["Once upon a time"],
    maxNewTokens: 400,
  });
  // Count decode steps through the signal: the handler checks it after every token.
  const check = controller.signal.throwIfAborted.bind(controller.signal);
  controller.signal.throwIfAborted = () => {
    if (++steps === 3) controller.abort(new Error("cancelled by test"));
    check();
  };
  try {
    await assert.rejects(generateSamples(spec, ports, demo), /cancelled by test/);
    assert.equal(steps, 3);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
