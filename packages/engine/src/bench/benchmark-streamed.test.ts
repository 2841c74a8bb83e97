// The benchmark runs a model block-streamed when asked (or when the budget calls for it) and says so in every row.
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
});
