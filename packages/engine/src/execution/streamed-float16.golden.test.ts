// Block-streamed execution in float16 (./streamed-model.ts): the same autocast rule as the whole model, so a
// streamed float16 run equals the whole float16 run (per-row NLL within 1e-4 relative: the same roundings, the
// head's products split by vocabulary chunk) and stays within the float16 tolerance 4u√D of the float64 oracle
// (../test-support/half-tolerance.ts): perplexity, the PPL criterion and zero-shot loglikelihoods.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { perplexity } from "../eval/perplexity.js";
import { zeroShot } from "../eval/zeroshot/zero-shot.js";
import { blockImportance } from "../importance/block-importance.js";
import { ForwardSession } from "../models/forward-session.js";
import { openCheckpoint } from "../models/weights.js";
import { assertAllRel, assertRel, fixture, MODELS, modelDir } from "../test-support/engine-fixtures.js";
import { assertOrderWhereSeparated, halfTolerance } from "../test-support/half-tolerance.js";
import { StreamedModel } from "./streamed-model.js";
import { streamedRowNllSums } from "./streamed-rows.js";

const ids: number[] = fixture("stream.json").ids;
const calibIds: number[][] = fixture("calib.json").batch;

for (const m of MODELS) {
  test(`streamed float16 ${m}: per-row NLL equals the whole float16 model, head in chunks`, async () => {
    const ckpt = openCheckpoint(modelDir(m));
    const T = 24;
    const V = ckpt.config.vocabSize;
    const n = Math.floor(ids.length / T);
    const rows = ids.slice(0, n * T).map((t) => t % V);
    const opts = { threads: 1, maxSeqLen: T, dtype: "float16" as const };
    const whole = await ForwardSession.open(ckpt, opts);
    const streamed = await StreamedModel.open(ckpt, { ...opts, headChunkRows: 37 });
    const f32 = await StreamedModel.open(ckpt, { threads: 1, maxSeqLen: T, headChunkRows: 37 });
    try {
      const a = await whole.rowNllSums(rows, n, T, { batchSize: 3 });
      const b = await streamedRowNllSums(streamed, rows, n, T, { batchSize: 2, rowsPerPass: 5 });
      const c = await streamedRowNllSums(f32, rows, n, T, { batchSize: 2, rowsPerPass: 5 });
      assertAllRel(Array.from(b), Array.from(a), 1e-4, `${m} streamed vs whole, float16`);
      // and it is float16 indeed: the float32 stream differs from it by more than float32 rounding
      const diff = Math.max(...Array.from(b, (v, i) => Math.abs(v - c[i]!) / Math.abs(c[i]!)));
      assert.ok(diff > 1e-6, `${m}: float16 stream equals the float32 stream (${diff})`);
    } finally {
      await Promise.all([whole.release(), streamed.release(), f32.release()]);
    }
  });
}

for (const m of ["llama-gqa", "gemma", "mistral-window"]) {
  test(`streamed float16 perplexity and PPL criterion of ${m} are within 4u√D of the oracle`, async () => {
    const tol = halfTolerance(openCheckpoint(modelDir(m)).config.numHiddenLayers);
    const ref = fixture(`cases/${m}/ppl_first.json`);
    const r = await perplexity({
      model: modelDir(m),
      ids,
      seqLen: 32,
      bos: "first",
      bosId: 1,
      batchSize: 3,
      threads: 1,
      dtype: "float16",
      execution: "streamed",
    });
    assert.equal(r.plan.mode, "streamed");
    assert.match(r.plan.summary, /^streamed \(float16 weights\)/);
    assertRel(r.ppl, ref.ppl, tol, `${m} ppl`);

    const imp = fixture(`cases/${m}/importance_ppl.json`);
    const s = await blockImportance({
      model: modelDir(m),
      criterion: "ppl",
      calibIds,
      batchSize: 2,
      threads: 1,
      dtype: "float16",
      execution: "streamed",
    });
    assert.equal(s.plan!.mode, "streamed");
    assertAllRel(s.scores, imp.block_scores, tol, `${m} scores`);
    assertRel(s.basePpl!, imp.base_ppl, tol, `${m} base ppl`);
    assertOrderWhereSeparated(s.scores, imp.block_scores, tol, m);
  });
}

test("streamed float16 zero-shot loglikelihoods equal the whole float16 model's", async () => {
  const model = fileURLToPath(new URL("../fixtures/zeroshot/random-llama", import.meta.url));
  const bytes = { encode: (s: string) => [...Buffer.from(s, "utf8")] };
  const run = (execution: "whole" | "streamed") =>
    zeroShot({
      model,
      tasks: ["arc_easy", "piqa"],
      dataDir: fileURLToPath(new URL("../../../../data/zeroshot", import.meta.url)),
      limit: 3,
      tokenizer: bytes,
      threads: 1,
      tokensPerBatch: 300,
      dtype: "float16",
      execution,
    });
  const [whole, streamed] = [await run("whole"), await run("streamed")];
  assert.equal(streamed.plan.mode, "streamed");
  assert.match(streamed.plan.summary, /float16 weights/);
  for (const t of ["arc_easy", "piqa"] as const) {
    const a = whole.items[t]!.flatMap((it) => it.lls);
    const b = streamed.items[t]!.flatMap((it) => it.lls);
    b.forEach((v, i) => {
      assert.ok(Math.abs(v - a[i]!) <= 1e-4 * Math.max(1, Math.abs(a[i]!)), `${t} ll ${i}: ${v} vs ${a[i]}`);
    });
  }
});
