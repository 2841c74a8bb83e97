import assert from "node:assert/strict";
import { test } from "node:test";
import { drawCalibrationRows } from "./calibration.js";

test("gen-calib stream mode: distinct starts, BOS every shifts the window", () => {
  const ids = Array.from({ length: 50 }, (_, i) => i + 3);
  const { rows, starts } = drawCalibrationRows(ids, { n: 5, seqLen: 8, seed: 1234 });
  assert.equal(new Set(starts).size, 5);
  for (const [k, r] of rows.entries()) assert.deepEqual(r, ids.slice(starts[k]!, starts[k]! + 8));
  const withBos = drawCalibrationRows(ids, { n: 5, seqLen: 8, seed: 1234, bos: "every", bosId: 1 });
  for (const [k, r] of withBos.rows.entries()) assert.deepEqual(r, [1, ...rows[k]!.slice(0, 7)]);
});
