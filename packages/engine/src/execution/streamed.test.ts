// Block-streamed execution equals the whole model: per-row NLL within 1e-5 (head in several chunks included),
// perplexity equal to the oracle's, removed blocks skipped alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { perplexity } from "../eval/perplexity.js";
import { KvGenerator } from "../generate/generator.js";
import { blockImportance } from "../importance/block-importance.js";
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

const calibIds: number[][] = fixture("calib.json").batch;

for (const m of MODELS) {
  test(`streamed PPL criterion of ${m} (block-major) equals the whole model within 1e-5 and the oracle`, async () => {
    const ref = fixture(`cases/${m}/importance_ppl.json`);
    const run = (execution: "whole" | "streamed") =>
      blockImportance({
        model: modelDir(m),
        criterion: "ppl",
        calibIds,
        batchSize: 2,
        threads: 1,
        execution,
      });
    const [whole, streamed] = [await run("whole"), await run("streamed")];
    assert.equal(streamed.plan!.mode, "streamed");
    assertAllRel(streamed.blockMeanNll!, whole.blockMeanNll!, 1e-5, `${m} block NLL`);
    assertRel(streamed.basePpl!, whole.basePpl!, 1e-5, `${m} base ppl`);
    assertAllRel(streamed.scores, ref.block_scores, 1e-4, `${m} scores vs oracle`);
    assert.deepEqual(streamed.order, ref.block_order);
    assert.deepEqual(streamed.orderPlus, ref.block_order_plus);
  });
}

for (const [criterion, group, file] of [
  ["bi", 1, "importance_bi"],
  ["angular", 2, "importance_angular_n2"],
  ["bi", 2, "importance_bi_n2"],
] as const) {
  test(`streamed ${criterion} criterion (group ${group}) equals the whole model and the oracle`, async () => {
    const ref = fixture(`cases/llama8/${file}.json`);
    const run = (execution: "whole" | "streamed") =>
      blockImportance({
        model: modelDir("llama8"),
        criterion,
        group,
        calibIds,
        batchSize: 3,
        threads: 1,
        execution,
      });
    const [whole, streamed] = [await run("whole"), await run("streamed")];
    assertAllRel(streamed.scores, whole.scores, 1e-5, `${criterion} streamed vs whole`);
    assertAllRel(streamed.scores, ref.block_scores, 1e-4, `${criterion} vs oracle`);
    assert.deepEqual(streamed.order, ref.block_order);
    if (ref.remove_best) assert.deepEqual(streamed.removeBest, ref.remove_best);
  });
}

test("streamed generation with the KV cache decodes what the whole model decodes", async () => {
  for (const m of [modelDir("llama-gqa"), modelDir("mistral-window"), DEMO_MODEL]) {
    const ckpt = openCheckpoint(m);
    const V = ckpt.config.vocabSize;
    const prompt = ids.slice(0, 9).map((t) => t % V);
    const whole = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "whole" });
    const streamed = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "streamed" });
    try {
      assert.equal(streamed.plan.mode, "streamed");
      const a = await whole.step([prompt, prompt], null);
      const b = await streamed.step([prompt, prompt], null);
      assertAllRel(Array.from(b.logits), Array.from(a.logits), 1e-5, `${m} prefill logits`);
      const opts = { doSample: false, maxNewTokens: 12, ignoreEos: true };
      const ga = await whole.generate([prompt], opts);
      const gb = await streamed.generate([prompt], opts);
      assert.deepEqual(gb.tokens, ga.tokens);
    } finally {
      await whole.release();
      await streamed.release();
    }
  }
});
