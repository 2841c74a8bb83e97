// The benchmark runs a model block-streamed when asked (or when the budget calls for it), in the compute dtype asked,
// and says both in every row.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { benchmarkGeneration } from "./benchmark.js";

test("a streamed benchmark reports its plan with its latency and throughput", async () => {
  const dir = fileURLToPath(new URL("../fixtures/zeroshot/random-llama", import.meta.url));
  const settings = { batchSizes: [1, 2], inputLen: 6, outputLen: 3, warmup: 0, runs: 1, threads: 1 };
  const streamed = await benchmarkGeneration({
    models: [{ label: "m", dir }],
    ...settings,
    execution: "streamed",
    memory: true,
  });
  assert.equal(streamed.rows.length, 2);
  for (const row of streamed.rows) {
    assert.equal(row.execution, "streamed");
    assert.match(row.plan, /^streamed, 1 of \d+ blocks resident/);
    assert.ok(row.tokensPerSecond.median > 0 && row.latencyS.median > 0);
    assert.ok(row.memory && row.memory.peakMb > 0);
  }
  const whole = await benchmarkGeneration({ models: [{ label: "m", dir }], ...settings, memory: false });
  assert.equal(whole.rows[0]!.execution, "whole");
  assert.equal(whole.rows[0]!.dtype, "float32");
});

test("a streamed float16 benchmark runs in float16 and reports it, its weights counted at 2 bytes a matrix", async () => {
  const dir = fileURLToPath(new URL("../fixtures/zeroshot/random-llama", import.meta.url));
  const settings = {
    batchSizes: [2],
    inputLen: 6,
    outputLen: 3,
    warmup: 0,
    runs: 1,
    threads: 1,
    memory: false,
  };
  const run = (dtype: "float16" | "float32") =>
    benchmarkGeneration({ models: [{ label: "m", dir }], ...settings, execution: "streamed", dtype });
  const [half, full] = [await run("float16"), await run("float32")];
  const row = half.rows[0]!;
  assert.equal(row.execution, "streamed");
  assert.equal(row.dtype, "float16");
  assert.match(row.plan, /^streamed \(float16 weights\), 1 of \d+ blocks resident/);
  assert.equal(half.settings.dtype, "float16");
  assert.ok(row.tokensPerSecond.median > 0);
  assert.ok(row.weightsMb < 0.6 * full.rows[0]!.weightsMb && row.weightsMb > 0.5 * full.rows[0]!.weightsMb);
  assert.equal(row.kvCacheMb, full.rows[0]!.kvCacheMb);
});
