import assert from "node:assert/strict";
import { test } from "node:test";
import { gemmCeiling, gemmRates } from "./gemm-ceiling.js";

test("GEMM ceiling: a finite, positive FLOP/s that counts 2·M·K·N per run", async () => {
  const small = await gemmCeiling(4, 4, 4, { threads: 1, runs: 3 });
  assert.ok(Number.isFinite(small) && small > 0, `${small}`);
  // 262144x the FLOPs does not take 262144x the time anywhere: the call overhead dominates the 4x4x4 product
  const big = await gemmCeiling(256, 256, 256, { threads: 1, runs: 3 });
  assert.ok(big > small, `${big} vs ${small}`);
  const constant = await gemmCeiling(256, 256, 256, { threads: 1, runs: 3, weight: "constant" });
  assert.ok(constant > small, `${constant} vs ${small}`);
});

test("GEMM rates: one per run, fastest first, the first being what gemmCeiling reports", async () => {
  const rates = await gemmRates(64, 64, 64, { threads: 1, runs: 4 });
  assert.equal(rates.length, 4);
  for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! <= rates[i - 1]!, `${rates}`);
  assert.ok(rates.every((r) => Number.isFinite(r) && r > 0));
});
