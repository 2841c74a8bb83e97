import assert from "node:assert/strict";
import { test } from "node:test";
import { gemmCeiling } from "./gemm-ceiling.js";

test("GEMM ceiling: a finite, positive FLOP/s that counts 2·M·K·N per run", async () => {
  const small = await gemmCeiling(4, 4, 4, { threads: 1, runs: 3 });
  assert.ok(Number.isFinite(small) && small > 0, `${small}`);
  // 262144x the FLOPs does not take 262144x the time anywhere: the call overhead dominates the 4x4x4 product
  const big = await gemmCeiling(256, 256, 256, { threads: 1, runs: 3 });
  assert.ok(big > small, `${big} vs ${small}`);
  const constant = await gemmCeiling(256, 256, 256, { threads: 1, runs: 3, weight: "constant" });
  assert.ok(constant > small, `${constant} vs ${small}`);
});
