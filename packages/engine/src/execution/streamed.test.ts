// Block-streamed execution equals the whole model: per-row NLL within 1e-5 (head in several chunks included),
// perplexity equal to the oracle's, removed blocks skipped alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { perplexity } from "../eval/perplexity.js";
import { ForwardSession } from "../models/forward-session.js";
import { openCheckpoint } from "../models/weights.js";
import {
  assertAllRel,
  assertRel,
  DEMO_MODEL,
  fixture,
  MODELS,
  modelDir,
} from "../test-support/engine-fixtures.js";
import { StreamedModel } from "./streamed-model.js";
import { streamedRowNllSums } from "./streamed-rows.js";

const ids: number[] = fixture("stream.json").ids;

for (const m of [...MODELS, "demo"]) {
  test(`streamed ${m}: per-row NLL equals the whole model within 1e-5, head in chunks`, async () => {
    const ckpt = openCheckpoint(m === "demo" ? DEMO_MODEL : modelDir(m));
    const T = 24;
    const V = ckpt.config.vocabSize;
    const n = Math.floor(ids.length / T);
    const rows = ids.slice(0, n * T).map((t) => t % V);
    const L = ckpt.config.numHiddenLayers;
    const gates = new Float32Array(L).fill(1);
    gates[1] = 0;
    const whole = await ForwardSession.open(ckpt, { threads: 1, maxSeqLen: T, skipGatedBlocks: true });
    const streamed = await StreamedModel.open(ckpt, { threads: 1, maxSeqLen: T, headChunkRows: 37 });
    try {
      for (const g of [undefined, gates]) {
        const a = await whole.rowNllSums(rows, n, T, { batchSize: 3, gates: g });
        const b = await streamedRowNllSums(streamed, rows, n, T, { batchSize: 2, rowsPerPass: 5, gates: g });
        assertAllRel(Array.from(b), Array.from(a), 1e-5, `${m} ${g ? "block 1 removed" : "all blocks"}`);
      }
    } finally {
      await whole.release();
      await streamed.release();
    }
  });
}

test("streamed perplexity equals the oracle and reports its plan", async () => {
  for (const m of ["llama-gqa", "gemma", "mistral-window"]) {
    const ref = fixture(`cases/${m}/ppl_first.json`);
    const r = await perplexity({
      model: modelDir(m),
      ids,
      seqLen: 32,
      bos: "first",
      bosId: 1,
      batchSize: 3,
      threads: 1,
      execution: "streamed",
    });
    assertRel(r.ppl, ref.ppl, 1e-4, `${m} streamed ppl`);
    assertAllRel(r.segmentMeanNll, ref.segment_mean_nll, 1e-4, `${m} streamed segments`);
    assert.equal(r.plan.mode, "streamed");
    assert.equal(r.plan.residentBlocks, 1);
    assert.ok(r.plan.rowsPerPass! >= 3);
  }
});
