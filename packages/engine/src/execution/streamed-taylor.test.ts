// Taylor+ by the block-wise backward with recomputation equals the whole-model gradient graph and the oracle:
// every weight's score within 1e-3, the same orders, the batch losses within 1e-5; the head in chunks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { blockImportance } from "../importance/block-importance.js";
import { taylorImportance } from "../importance/taylor.js";
import { openCheckpoint } from "../models/weights.js";
import { rel, TRAIN_FIXTURE_NAMES, trainFixture } from "../test-support/train-fixtures.js";
import { StreamedModel } from "./streamed-model.js";
import { streamedTaylorImportance } from "./streamed-taylor.js";

const root = fileURLToPath(new URL("../../../..", import.meta.url));

for (const name of TRAIN_FIXTURE_NAMES) {
  test(`streamed Taylor+ of the ${name} fixture equals the whole model and the oracle`, async () => {
    const f = trainFixture(name);
    const calib = f.calib as number[][];
    const rows = { flat: calib.flat(), rows: calib.length, seqLen: calib[0]!.length };
    const ckpt = openCheckpoint(`${root}/${f.model}`);
    const whole = await taylorImportance(ckpt, rows, { batchSize: f.taylor.batch_size, threads: 1 });
    const model = await StreamedModel.open(ckpt, {
      threads: 1,
      maxSeqLen: rows.seqLen,
      headChunkRows: Math.ceil(ckpt.config.vocabSize / 3),
    });
    let streamed: Awaited<ReturnType<typeof streamedTaylorImportance>>;
    try {
      streamed = await streamedTaylorImportance(model, rows, { batchSize: f.taylor.batch_size });
    } finally {
      await model.release();
    }
    const want = f.taylor;
    assert.deepEqual(
      streamed.weightScores.map(([k]) => k),
      whole.weightScores.map(([k]) => k),
    );
    streamed.weightScores.forEach(([k, v], i) => {
      assert.ok(rel(v, whole.weightScores[i]![1]) < 1e-3, `${k}: ${v} vs whole ${whole.weightScores[i]![1]}`);
      assert.ok(rel(v, want.weight_scores[i][1]) < 1e-3, `${k}: ${v} vs oracle ${want.weight_scores[i][1]}`);
    });
    streamed.blockScores.forEach((v, i) => {
      assert.ok(rel(v, want.block_scores[i]) < 1e-3, `block ${i}: ${v} vs ${want.block_scores[i]}`);
    });
    assert.deepEqual(streamed.blockOrder, want.block_order);
    assert.deepEqual(streamed.blockOrderPlus, want.block_order_plus);
    assert.deepEqual(streamed.blockOrder, whole.blockOrder);
    streamed.batchLosses.forEach((v, i) => {
      assert.ok(rel(v, want.batch_losses[i]) < 1e-5, `batch ${i} loss ${v} vs ${want.batch_losses[i]}`);
    });
  });
}

test("blockImportance taylor runs streamed when asked and scores as the whole model", async () => {
  const f = trainFixture("llama");
  const calibIds = f.calib as number[][];
  const run = (o: { execution: "whole" | "streamed" }) =>
    blockImportance({
      model: `${root}/${f.model}`,
      criterion: "taylor",
      calibIds,
      batchSize: 2,
      threads: 1,
      ...o,
    });
  const whole = await run({ execution: "whole" });
  const streamed = await run({ execution: "streamed" });
  assert.equal(whole.plan!.mode, "whole");
  assert.equal(streamed.plan!.mode, "streamed");
  for (const [i, v] of streamed.scores.entries()) assert.ok(rel(v, whole.scores[i]!) < 1e-3, `block ${i}`);
  assert.deepEqual(streamed.order, whole.order);
  assert.deepEqual(streamed.orderPlus, whole.orderPlus);
});
