// Memory sizes, the budget's sources, and the plan: whole when it fits, streamed when only that fits, a refusal
// that names what would fit otherwise.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { LLAMA2_7B } from "../test-support/big-configs.js";
import { MEMORY_BUDGET_ENV, resolveMemoryBudget } from "./budget.js";
import { estimateStreamed, estimateWhole, float32WeightBytes } from "./estimate.js";
import { parseMemorySize } from "./memory-size.js";
import { planExecution } from "./plan.js";
import { STACKED_TOKENS_PER_CALL } from "./streamed-importance.js";

const G = 2 ** 30;

test("memory sizes parse with binary units and refuse nonsense", () => {
  assert.equal(parseMemorySize("4G"), 4 * G);
  assert.equal(parseMemorySize("2.5G"), 2.5 * G);
  assert.equal(parseMemorySize("2560M"), 2560 * 2 ** 20);
  assert.equal(parseMemorySize("512MiB"), 512 * 2 ** 20);
  assert.equal(parseMemorySize("1073741824"), G);
  for (const bad of ["", "G", "-1G", "4X", "four", "0"])
    assert.throws(
      () => parseMemorySize(bad),
      (e) => isUserError(e) && /memoryBudget/.test(e.message),
      bad,
    );
});

test("the budget comes from the option, then the environment, then a share of available memory", () => {
  const saved = process.env[MEMORY_BUDGET_ENV];
  try {
    process.env[MEMORY_BUDGET_ENV] = "3G";
    assert.deepEqual(resolveMemoryBudget("2G"), { bytes: 2 * G, source: "option" });
    assert.deepEqual(resolveMemoryBudget(), { bytes: 3 * G, source: "env" });
    process.env[MEMORY_BUDGET_ENV] = "lots";
    assert.throws(() => resolveMemoryBudget(), /SHORTENED_MEMORY_BUDGET/);
    delete process.env[MEMORY_BUDGET_ENV];
    const d = resolveMemoryBudget();
    assert.equal(d.source, "default");
    assert.ok(d.bytes > 0 && /available/.test(d.note!));
  } finally {
    if (saved === undefined) delete process.env[MEMORY_BUDGET_ENV];
    else process.env[MEMORY_BUDGET_ENV] = saved;
  }
});

// LLaMA-2-7B's shapes.
const llama7b = LLAMA2_7B;

test("7B shapes: float32 weights as the config implies; whole does not fit 4G, streamed does", () => {
  const w = float32WeightBytes(llama7b);
  assert.equal(w.total / 4, 6_738_415_616); // LLaMA-2-7B's parameter count
  const workload = { batch: 4, seqLen: 128, head: "nll" as const };
  const streamed = {
    workload: (rows: number) => ({ ...workload, keptRows: rows }),
    minRows: 4,
    maxRows: 1000,
  };
  const big = planExecution({ config: llama7b, memoryBudget: "64G", what: "perplexity", workload, streamed });
  assert.equal(big.mode, "whole");
  assert.equal(big.residentBlocks, 32);
  const small = planExecution({
    config: llama7b,
    memoryBudget: "4G",
    what: "perplexity",
    workload,
    streamed,
  });
  assert.equal(small.mode, "streamed");
  assert.equal(small.residentBlocks, 1);
  assert.ok(small.rowsPerPass! >= 4 && small.estimate.total <= 4 * G);
  assert.ok(estimateStreamed(llama7b, streamed.workload(small.rowsPerPass!)).total <= 4 * G);
  assert.ok(estimateWhole(llama7b, workload).total > 4 * G);
  assert.match(small.summary, /streamed, 1 of 32 blocks resident/);
});

test("7B shapes: rows per call grow only as far as the budget holds their activations", () => {
  const T = 128;
  const workload = (rows: number) => ({
    batch: 2,
    seqLen: T,
    head: "nll" as const,
    keptStates: 33,
    keptRows: rows,
  });
  const stackRows = (rows: number) => Math.min(33 * rows, Math.floor(STACKED_TOKENS_PER_CALL / T));
  const plan = (budget: string) =>
    planExecution({
      config: llama7b,
      memoryBudget: budget,
      what: "the PPL criterion",
      workload: workload(10),
      streamed: { workload, minRows: 2, maxRows: 10, stackRows },
    });
  const roomy = plan("8G");
  assert.equal(roomy.rowsPerPass, 10);
  assert.equal(roomy.rowsPerCall, STACKED_TOKENS_PER_CALL / T);
  // the estimate is that of the stacked call, not of a batch of 2
  assert.deepEqual(roomy.estimate, estimateStreamed(llama7b, { ...workload(10), batch: roomy.rowsPerCall! }));
  assert.ok(roomy.estimate.total > estimateStreamed(llama7b, workload(10)).total);
  // a budget between a batch of 2 and the full stack: fewer rows per call, still within it
  const tight = plan("3G");
  assert.equal(tight.rowsPerPass, 10);
  assert.ok(tight.rowsPerCall! >= 2 && tight.rowsPerCall! < roomy.rowsPerCall!, `${tight.rowsPerCall}`);
  assert.ok(tight.estimate.total <= 3 * 2 ** 30);
  assert.ok(
    estimateStreamed(llama7b, { ...workload(10), batch: tight.rowsPerCall! * 2 }).total > 3 * 2 ** 30,
  );
});

test("nothing fits: a refusal that says what would", () => {
  const workload = { batch: 4, seqLen: 128, head: "nll" as const };
  assert.throws(
    () =>
      planExecution({
        config: llama7b,
        memoryBudget: "1G",
        what: "perplexity",
        workload,
        streamed: { workload: () => workload, minRows: 4, maxRows: 4 },
      }),
    (e) =>
      isUserError(e) &&
      /perplexity does not fit the 1\.00 GB budget/.test(e.message) &&
      /would fit: `memoryBudget` \d+(\.\d)?G \(streamed/.test(e.message),
  );
  assert.throws(
    () => planExecution({ config: llama7b, memoryBudget: "4G", what: "Taylor+ importance", workload }),
    (e) => isUserError(e) && /streaming does not serve Taylor\+ importance yet/.test(e.message),
  );
});
