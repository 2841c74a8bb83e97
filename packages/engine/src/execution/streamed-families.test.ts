// Block-streamed execution equals the whole model on every later family and RoPE scaling type (fixtures/arch:
// qwen2 and qwen3 sliding windows, gemma2 soft-capping and alternating windows, gemma3_text local/global RoPE,
// phi3 fused projections and longrope, llama with linear/dynamic/yarn/longrope/llama3): rows longer than the
// sliding windows and past the original RoPE length. Per model: per-row NLL within 1e-5 (all blocks, block 1
// removed), perplexity equal to the oracle's, the ppl / bi / angular criteria within 1e-5 of the whole model and
// 1e-4 of the oracle with equal orders, zero-shot loglikelihoods within 1e-5, and generation with the KV cache:
// prefill logits within 1e-5 and the same greedy tokens. (Streamed Taylor+ per family: streamed-taylor.test.ts.)
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { TokenRequest } from "@shortened/hf";
import { perplexity } from "../eval/perplexity.js";
import { loglikelihoods } from "../eval/zeroshot/loglikelihood.js";
import { KvGenerator } from "../generate/generator.js";
import { blockImportance } from "../importance/block-importance.js";
import { ForwardSession } from "../models/forward-session.js";
import { openCheckpoint } from "../models/weights.js";
import { assertAllRel, assertRel } from "../test-support/engine-fixtures.js";
import { streamedLoglikelihoods } from "./streamed-loglikelihoods.js";
import { StreamedModel } from "./streamed-model.js";
import { streamedRowNllSums } from "./streamed-rows.js";

const ARCH = fileURLToPath(new URL("../fixtures/arch/", import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: oracle JSON
const fixture = (path: string): any => JSON.parse(readFileSync(`${ARCH}${path}`, "utf8"));
const modelDir = (m: string) => `${ARCH}models/${m}`;
const MODELS = readdirSync(`${ARCH}models`).sort();
const stream: number[] = fixture("stream.json").ids;
const calib: number[][] = fixture("calib.json").batch;

test("the streamed checks cover every later family", () => {
  const types = new Set(MODELS.map((m) => fixture(`models/${m}/config.json`).model_type));
  for (const t of ["qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "llama"]) assert.ok(types.has(t), t);
});

for (const m of MODELS) {
  test(`streamed ${m}: per-row NLL and perplexity equal the whole model and the oracle`, async () => {
    const ckpt = openCheckpoint(modelDir(m));
    const T = 24;
    const n = Math.floor(stream.length / T);
    const rows = stream.slice(0, n * T);
    const gates = new Float32Array(ckpt.config.numHiddenLayers).fill(1);
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
    const ref = fixture(`cases/${m}/ppl_first.json`);
    const r = await perplexity({
      model: modelDir(m),
      ids: stream,
      seqLen: 24,
      bos: "first",
      bosId: 1,
      batchSize: 3,
      threads: 1,
      execution: "streamed",
    });
    assert.equal(r.plan.mode, "streamed");
    assertRel(r.ppl, ref.ppl, 1e-4, `${m} streamed ppl`);
    assertAllRel(r.segmentMeanNll, ref.segment_mean_nll, 1e-4, `${m} streamed segments`);
  });

  test(`streamed ${m}: ppl, bi and angular criteria equal the whole model and the oracle`, async () => {
    for (const criterion of ["ppl", "bi", "angular"] as const) {
      const ref = fixture(`cases/${m}/importance_${criterion}.json`);
      const run = (execution: "whole" | "streamed") =>
        blockImportance({
          model: modelDir(m),
          criterion,
          calibIds: calib,
          batchSize: 3,
          threads: 1,
          execution,
        });
      const [whole, streamed] = [await run("whole"), await run("streamed")];
      assert.equal(streamed.plan!.mode, "streamed");
      assertAllRel(streamed.scores, whole.scores, 1e-5, `${m} ${criterion} streamed vs whole`);
      assertAllRel(streamed.scores, ref.block_scores, 1e-4, `${m} ${criterion} vs oracle`);
      assert.deepEqual(streamed.order, ref.block_order, `${m} ${criterion} order`);
      assert.deepEqual(streamed.orderPlus, ref.block_order_plus);
    }
  });

  test(`streamed ${m}: zero-shot loglikelihoods and KV-cache generation equal the whole model`, async () => {
    const ckpt = openCheckpoint(modelDir(m));
    // contexts of 3..20 tokens (past the windows), continuations of 1..5, one truncated by the 16-token window
    const requests: TokenRequest[] = [];
    for (let k = 0; k < 10; k++) {
      const c0 = (k * 7) % 40;
      requests.push({
        contextIds: stream.slice(c0, c0 + 3 + ((k * 5) % 18)),
        continuationIds: stream.slice(c0 + 30, c0 + 31 + (k % 5)),
      });
    }
    const maxLength = 16;
    const whole = await ForwardSession.open(ckpt, { nll: true, threads: 1 });
    const streamed = await StreamedModel.open(ckpt, { threads: 1, maxSeqLen: maxLength, headChunkRows: 41 });
    try {
      const opts = { maxLength, tokensPerBatch: 40 };
      const a = await loglikelihoods(whole, requests, opts);
      const b = await streamedLoglikelihoods(streamed, requests, { ...opts, tokensPerPass: 90 });
      assertAllRel(b, a, 1e-5, `${m} loglikelihoods`);
    } finally {
      await whole.release();
      await streamed.release();
    }

    // a 9-token prompt and up to 14 new tokens: the cache grows past every sliding window. Dynamic and longrope
    // RoPE depend on the length, so generation stops at max_position_embeddings and must not cross the longrope
    // switch (the generator refuses both): phi3-longrope starts past its switch at 12 positions instead.
    const c = ckpt.config;
    const longropeSwitch = c.ropeScaling?.type === "longrope" ? (c.originalMaxPositionEmbeddings ?? 0) : 0;
    const prompt = stream.slice(0, longropeSwitch > 9 && longropeSwitch < c.maxPositionEmbeddings ? 13 : 9);
    const newTokens = Math.min(14, c.maxPositionEmbeddings - prompt.length);
    const wholeGen = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "whole" });
    const streamedGen = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "streamed" });
    try {
      assert.equal(streamedGen.plan.mode, "streamed");
      const pa = await wholeGen.step([prompt, prompt], null);
      const pb = await streamedGen.step([prompt, prompt], null);
      assertAllRel(Array.from(pb.logits), Array.from(pa.logits), 1e-5, `${m} prefill logits`);
      const gen = { doSample: false, maxNewTokens: newTokens, ignoreEos: true };
      const ga = await wholeGen.generate([prompt], gen);
      const gb = await streamedGen.generate([prompt], gen);
      assert.deepEqual(gb.tokens, ga.tokens, `${m} greedy tokens`);
    } finally {
      await wholeGen.release();
      await streamedGen.release();
    }
  });
}
