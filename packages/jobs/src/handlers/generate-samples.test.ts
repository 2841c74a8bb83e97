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
    context: { workDir, device: "cpu" },
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

test("the first sample's text streams as progress events, ending with the whole text, with its speed", async () => {
  const workDir = mkdtempSync(join(tmpdir(), "shortened-generate-"));
  const steps: { step?: number; text?: string; ttftS?: number; tokensPerS?: number }[] = [];
  const ports = {
    signal: new AbortController().signal,
    context: { workDir, device: "cpu" },
    progress: {
      progress(_f: number, _m?: string, step?: (typeof steps)[number]) {
        if (step) steps.push(step);
      },
      log() {},
    },
  } as unknown as Ports;
  const spec = EvaluateGenerateSpec.parse({
    kind: "evaluate",
    model: "m",
    task: "generate",
    prompts: ["Once upon a time"],
    maxNewTokens: 24,
  });
  try {
    const out = await generateSamples(spec, ports, demo);
    const sample = out.section.samples[0]!.outputs[0]!;
    assert.ok(steps.length >= 1);
    assert.equal(steps.at(-1)!.text, sample.text);
    assert.equal(steps.at(-1)!.step, sample.newTokens);
    for (const [i, s] of steps.entries()) {
      assert.ok(sample.text.startsWith(s.text!.trimEnd()), `step ${s.step}: ${s.text}`);
      if (i > 0) assert.ok(s.step! > steps[i - 1]!.step!);
      assert.ok(s.ttftS! > 0 && s.tokensPerS! > 0);
    }
    const timing = (out.summary as { timing: { ttftS: number; tokensPerS: number }[] }).timing;
    assert.equal(timing.length, 1);
    assert.ok(timing[0]!.ttftS > 0 && timing[0]!.tokensPerS > 0);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
