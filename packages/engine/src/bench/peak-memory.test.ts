import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { measurePeakMemory } from "./peak-memory.js";

test("peak memory is measured in a child process that opens the model and generates", () => {
  const model = fileURLToPath(new URL("../fixtures/zeroshot/random-llama", import.meta.url));
  const m = measurePeakMemory({ model, batch: 2, inputLen: 8, outputLen: 4, threads: 1 });
  assert.ok(
    m.baselineMb > 10 && m.afterOpenMb >= m.baselineMb && m.peakMb >= m.afterOpenMb,
    JSON.stringify(m),
  );
  assert.doesNotMatch(m.plan, /float16/);
  assert.throws(
    () => measurePeakMemory({ model: "/nonexistent", batch: 1, inputLen: 2, outputLen: 2 }),
    /peak-memory probe failed/,
  );
});

test("the probe runs with the benchmark's compute dtype", () => {
  const model = fileURLToPath(new URL("../fixtures/zeroshot/random-llama", import.meta.url));
  const m = measurePeakMemory({ model, batch: 1, inputLen: 4, outputLen: 2, threads: 1, dtype: "float16" });
  assert.match(m.plan, /float16 weights/);
  // bfloat16 reaches the child too, which refuses it on CPU like any other entry point
  assert.throws(
    () => measurePeakMemory({ model, batch: 1, inputLen: 4, outputLen: 2, threads: 1, dtype: "bfloat16" }),
    /peak-memory probe failed: .*bfloat16/,
  );
});
