// The streamed PPL criterion stacks its candidates' rows into block calls: as many calls as the rows per call
// imply (one per block when a call takes every state), the same scores however the rows are cut into calls, and
// a plan that stacks them (./plan.test.ts: its sizing under a budget).
import assert from "node:assert/strict";
import { test } from "node:test";
import { blockImportance } from "../importance/block-importance.js";
import { loadCalibration } from "../importance/calibration.js";
import { openCheckpoint } from "../models/weights.js";
import { assertAllRel, assertRel, fixture, modelDir } from "../test-support/engine-fixtures.js";
import { streamedPplCriterion } from "./streamed-importance.js";
import { StreamedModel } from "./streamed-model.js";

const calibIds: number[][] = fixture("calib.json").batch;

for (const m of ["llama-gqa", "gemma", "llama8"]) {
  test(`stacked PPL criterion of ${m}: block calls as the stacking implies, scores as unstacked within 1e-6`, async () => {
    const ckpt = openCheckpoint(modelDir(m));
    const calib = loadCalibration({ calibIds }, ckpt);
    const L = ckpt.config.numHiddenLayers;
    const model = await StreamedModel.open(ckpt, { threads: 1, maxSeqLen: calib.seqLen, headChunkRows: 37 });
    let blockCalls = 0;
    const runBlock = model.runBlock.bind(model);
    model.runBlock = (i, h) => {
      blockCalls++;
      return runBlock(i, h);
    };
    const run = async (rowsPerPass: number, rowsPerCall: number) => {
      blockCalls = 0;
      const r = await streamedPplCriterion(model, calib, { batchSize: 2, rowsPerPass, rowsPerCall });
      return { ...r, blockCalls };
    };
    // block j takes j + 1 states of each pass's P rows, cut into calls of `perCall` rows
    const expectedCalls = (P: number, perCall: number) => {
      let n = 0;
      for (let p0 = 0; p0 < calib.rows; p0 += P)
        for (let j = 0; j < L; j++) n += Math.ceil(((j + 1) * Math.min(P, calib.rows - p0)) / perCall);
      return n;
    };
    try {
      const one = await run(calib.rows, 1);
      assert.equal(one.blockCalls, (calib.rows * L * (L + 1)) / 2);
      for (const [P, perCall] of [
        [calib.rows, (L + 1) * calib.rows],
        [4, 3],
        [2, 1000],
      ] as const) {
        const r = await run(P, perCall);
        assert.equal(r.blockCalls, expectedCalls(P, perCall), `${P} rows per pass, ${perCall} per call`);
        if (perCall >= (L + 1) * P) assert.equal(r.blockCalls, L * Math.ceil(calib.rows / P));
        assertRel(r.baseSum, one.baseSum, 1e-6, `${m} base (${P}, ${perCall})`);
        assertAllRel(
          Array.from(r.blockSums),
          Array.from(one.blockSums),
          1e-6,
          `${m} blocks (${P}, ${perCall})`,
        );
      }
    } finally {
      await model.release();
    }
  });
}

test("the streamed PPL criterion's plan stacks every candidate's rows when they fit, and says so", async () => {
  const r = await blockImportance({
    model: modelDir("llama8"),
    criterion: "ppl",
    calibIds,
    batchSize: 2,
    threads: 1,
    execution: "streamed",
  });
  const rows = calibIds.length;
  assert.equal(r.plan!.rowsPerPass, rows);
  assert.equal(r.plan!.rowsPerCall, 9 * rows); // the full model and 8 candidates
  assert.match(r.plan!.summary, new RegExp(`${9 * rows} rows per call`));
});
