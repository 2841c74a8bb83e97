// Taylor+ importance against the float64 oracle (fixtures/train, from scripts/fixtures/train.sh).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { rel, TRAIN_FIXTURE_NAMES, trainFixture } from "../test-support/train-fixtures.js";
import { taylorImportance } from "./taylor.js";

const root = fileURLToPath(new URL("../../../..", import.meta.url));

for (const name of TRAIN_FIXTURE_NAMES) {
  test(`Taylor+ scores of the ${name} fixture match the oracle within 1e-3 relative, same order`, async () => {
    const f = trainFixture(name);
    const rows = f.calib as number[][];
    const r = await taylorImportance(
      `${root}/${f.model}`,
      { flat: rows.flat(), rows: rows.length, seqLen: rows[0]!.length },
      {
        batchSize: f.taylor.batch_size,
        threads: 1,
      },
    );
    const want = f.taylor;
    assert.deepEqual(
      r.weightScores.map(([k]) => k),
      want.weight_scores.map(([k]: [string, number]) => k),
    );
    r.weightScores.forEach(([k, v], i) => {
      assert.ok(rel(v, want.weight_scores[i][1]) < 1e-3, `${k}: ${v} vs ${want.weight_scores[i][1]}`);
    });
    r.blockScores.forEach((v, i) => {
      assert.ok(rel(v, want.block_scores[i]) < 1e-3, `block ${i}: ${v} vs ${want.block_scores[i]}`);
    });
    for (const [k, v] of Object.entries(want.block_score_all))
      assert.ok(rel(r.blockScoreAll[k]!, v as number) < 1e-3, k);
    assert.deepEqual(r.blockOrder, want.block_order);
    assert.deepEqual(r.blockOrderPlus, want.block_order_plus);
    r.batchLosses.forEach((v, i) => {
      assert.ok(rel(v, want.batch_losses[i]) < 1e-5, `batch ${i} loss ${v} vs ${want.batch_losses[i]}`);
    });
  });
}
