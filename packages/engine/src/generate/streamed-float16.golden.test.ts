// Block-streamed generation in float16 (the KV cache, ./generator.ts over ../execution/streamed-model.ts): the same
// greedy tokens and logits as the whole float16 model, the oracle's NLL within float16's 4u√D
// (../test-support/half-tolerance.ts) when the oracle's window is fed through the cache token by token, and
// logits that differ from the float32 stream's (so the dtype is not ignored).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ort } from "../graph/session.js";
import { openCheckpoint } from "../models/weights.js";
import { fixture, modelDir } from "../test-support/engine-fixtures.js";
import { halfTolerance } from "../test-support/half-tolerance.js";
import { KvGenerator } from "./generator.js";

const ids: number[] = fixture("stream.json").ids;

/** −log softmax(logits)[target] in float64. */
function nll(logits: Float32Array, target: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const z of logits) max = Math.max(max, z);
  let sum = 0;
  for (const z of logits) sum += Math.exp(z - max);
  return max + Math.log(sum) - logits[target]!;
}

/** The mean NLL of a window's next tokens, fed one token per step after an empty cache. */
async function teacherForced(gen: KvGenerator, window: number[]): Promise<number> {
  let past: ort.Tensor[] | null = null;
  let total = 0;
  for (let t = 0; t + 1 < window.length; t++) {
    const r = await gen.step([[window[t]!]], past);
    total += nll(r.logits, window[t + 1]!);
    past = r.present;
  }
  return total / (window.length - 1);
}

for (const m of ["llama-gqa", "gemma", "mistral-window"]) {
  test(`streamed float16 generation of ${m} equals the whole float16 model and stays within 4u√D of the oracle`, async () => {
    const ckpt = openCheckpoint(modelDir(m));
    const V = ckpt.config.vocabSize;
    const prompt = ids.slice(0, 9).map((t) => t % V);
    const opts = { threads: 1, maxSeqLen: 40, dtype: "float16" as const };
    const whole = await KvGenerator.open(ckpt, { ...opts, execution: "whole" });
    const streamed = await KvGenerator.open(ckpt, { ...opts, execution: "streamed" });
    const f32 = await KvGenerator.open(ckpt, { threads: 1, maxSeqLen: 40, execution: "streamed" });
    try {
      assert.equal(streamed.plan.mode, "streamed");
      assert.match(streamed.plan.summary, /^streamed \(float16 weights\)/);
      const greedy = { doSample: false, maxNewTokens: 10, ignoreEos: true };
      assert.deepEqual(
        (await streamed.generate([prompt], greedy)).tokens,
        (await whole.generate([prompt], greedy)).tokens,
      );

      const [a, b, c] = await Promise.all([whole, streamed, f32].map((g) => g.step([prompt], null)));
      let diff32 = 0;
      b!.logits.forEach((v, k) => {
        const w = a!.logits[k]!;
        assert.ok(Math.abs(v - w) <= 1e-4 * Math.max(1, Math.abs(w)), `${m} logit ${k}: ${v} vs whole ${w}`);
        diff32 = Math.max(diff32, Math.abs(v - c!.logits[k]!) / Math.max(1, Math.abs(c!.logits[k]!)));
      });
      assert.ok(diff32 > 1e-5, `${m}: float16 logits equal the float32 stream's (${diff32})`);

      // the oracle's first window (BOS 1, then the stream), its mean NLL a perplexity's log
      const ref = fixture(`cases/${m}/ppl_first.json`);
      const window = [1, ...ids.slice(0, ref.seq_len - 1)];
      const mean = await teacherForced(streamed, window);
      const tol = halfTolerance(ckpt.config.numHiddenLayers);
      assert.ok(
        Math.abs(mean - ref.segment_mean_nll[0]) <= tol,
        `${m}: mean NLL ${mean} vs oracle ${ref.segment_mean_nll[0]} (tolerance ${tol})`,
      );
    } finally {
      await Promise.all([whole.release(), streamed.release(), f32.release()]);
    }
  });
}
