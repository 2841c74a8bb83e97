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
  assert.throws(
    () => measurePeakMemory({ model: "/nonexistent", batch: 1, inputLen: 2, outputLen: 2 }),
    /peak-memory probe failed/,
  );
});
