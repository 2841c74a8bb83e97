// Block importance against the oracle's `importance`: the ppl, bi and angular criteria on every architecture,
// and magnitude / bi / angular (n = 1 and 2) on an 8-block model. Scores within 1e-4 relative, orders equal.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertAllRel, assertRel, fixture, MODELS, modelDir } from "../test-support/engine-fixtures.js";
import { blockImportance } from "./block-importance.js";

const calibIds: number[][] = fixture("calib.json").batch;

for (const m of MODELS) {
  test(`ppl criterion of ${m} equals the oracle (scores, base ppl, orders)`, async () => {
    const ref = fixture(`cases/${m}/importance_ppl.json`);
    const r = await blockImportance({
      model: modelDir(m),
      criterion: "ppl",
      calibIds,
      batchSize: 4,
      threads: 1,
    });
    assertAllRel(r.scores, ref.block_scores, 1e-4, `${m} scores`);
    assertRel(r.basePpl!, ref.base_ppl, 1e-4, `${m} base ppl`);
    assert.deepEqual(r.order, ref.block_order);
    assert.deepEqual(r.orderPlus, ref.block_order_plus);
  });
}

for (const m of MODELS) {
  test(`bi and angular criteria of ${m} equal the oracle (scores, orders)`, async () => {
    for (const criterion of ["bi", "angular"] as const) {
      const ref = fixture(`cases/${m}/importance_${criterion}.json`);
      const r = await blockImportance({ model: modelDir(m), criterion, calibIds, threads: 1 });
      assertAllRel(r.scores, ref.block_scores, 1e-4, `${m} ${criterion} scores`);
      assert.deepEqual(r.order, ref.block_order, `${m} ${criterion} order`);
      assert.deepEqual(r.orderPlus, ref.block_order_plus);
    }
  });
}

for (const [criterion, group, file] of [
  ["magnitude", 1, "importance_magnitude"],
  ["bi", 1, "importance_bi"],
  ["angular", 1, "importance_angular"],
  ["angular", 2, "importance_angular_n2"],
  ["bi", 2, "importance_bi_n2"],
] as const) {
  test(`${criterion} criterion (group ${group}) equals the oracle`, async () => {
    const ref = fixture(`cases/llama8/${file}.json`);
    const r = await blockImportance({ model: modelDir("llama8"), criterion, group, calibIds, threads: 1 });
    assertAllRel(r.scores, ref.block_scores, 1e-4, `${criterion} scores`);
    assert.deepEqual(r.order, ref.block_order);
    assert.deepEqual(r.orderPlus, ref.block_order_plus);
    if (ref.remove_best) assert.deepEqual(r.removeBest, ref.remove_best);
    if (criterion === "magnitude") {
      assert.deepEqual(
        r.weightScores!.map(([n]) => n),
        ref.weight_scores.map(([n]: [string]) => n).filter((n: string) => n.startsWith("model.layers.")),
      );
    }
  });
}
