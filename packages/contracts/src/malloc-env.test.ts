// The rule that decides which runs start with glibc's malloc thresholds fixed, shared by the CLI's bin and the
// worker's job processes: training under a memory budget, unless the caller set the thresholds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { budgetedMallocEnv } from "@shortened/contracts/malloc-env";

const fixed = { MALLOC_MMAP_THRESHOLD_: "131072", MALLOC_TRIM_THRESHOLD_: "131072" };

test("training under a budget of its own or SHORTENED_MEMORY_BUDGET gets the fixed thresholds", () => {
  assert.deepEqual(budgetedMallocEnv({ training: true, memoryBudget: "4G" }, {}), fixed);
  assert.deepEqual(budgetedMallocEnv({ training: true, memoryBudget: true }, {}), fixed);
  assert.deepEqual(budgetedMallocEnv({ training: true }, { SHORTENED_MEMORY_BUDGET: "8G" }), fixed);
});

test("no budget, or a run that does not train, keeps glibc's defaults", () => {
  assert.deepEqual(budgetedMallocEnv({ training: true }, {}), {});
  assert.deepEqual(
    budgetedMallocEnv({ training: true, memoryBudget: "" }, { SHORTENED_MEMORY_BUDGET: "" }),
    {},
  );
  // forward runs: the fixed thresholds cost the 100M float32 forward ~16%
  assert.deepEqual(budgetedMallocEnv({ training: false, memoryBudget: "4G" }, {}), {});
  assert.deepEqual(budgetedMallocEnv({ training: false }, { SHORTENED_MEMORY_BUDGET: "4G" }), {});
});

test("a caller's own threshold wins: nothing is added", () => {
  const run = { training: true, memoryBudget: "4G" };
  assert.deepEqual(budgetedMallocEnv(run, { MALLOC_MMAP_THRESHOLD_: "65536" }), {});
  assert.deepEqual(budgetedMallocEnv(run, { MALLOC_TRIM_THRESHOLD_: "0" }), {});
});
