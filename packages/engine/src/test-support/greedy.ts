// Greedy decoding with the KV cache against greedy by full recomputation (the forward graph on the whole prefix
// at every step), for the generation tests.
import assert from "node:assert/strict";
import { KvGenerator } from "../generate/generator.js";
import { argmaxRow } from "../generate/sampling.js";
import { ForwardSession } from "../models/forward-session.js";

/** Greedy decoding by re-running the full forward graph on the whole prefix at every step (no cache). */
async function greedyByRecomputation(
  model: string,
  prompt: number[],
  n: number,
): Promise<{ tokens: number[]; firstLogits: Float32Array }> {
  const fwd = await ForwardSession.open(model, { nll: false, logits: true, threads: 1 });
  const V = fwd.config.vocabSize;
  const seq = [...prompt];
  let firstLogits = new Float32Array(0);
  try {
    for (let s = 0; s < n; s++) {
      const { logits } = await fwd.run({ batch: 1, seqLen: seq.length, ids: seq }, { logits: true });
      const off = (seq.length - 1) * V;
      if (s === 0) firstLogits = logits!.slice(off, off + V);
      seq.push(argmaxRow(logits!, off, V));
    }
  } finally {
    await fwd.release();
  }
  return { tokens: seq.slice(prompt.length), firstLogits };
}

export async function checkCacheEqualsRecompute(
  model: string,
  prompt: number[],
  n: number,
): Promise<number[]> {
  const want = await greedyByRecomputation(model, prompt, n);
  const gen = await KvGenerator.open(model, { threads: 1 });
  try {
    const first = await gen.step([prompt], null);
    const maxDiff = Math.max(...Array.from(first.logits, (v, i) => Math.abs(v - want.firstLogits[i]!)));
    assert.ok(maxDiff < 1e-4, `prefill logits differ from the forward graph by ${maxDiff}`);
    const got = await gen.generate([prompt, prompt], { doSample: false, maxNewTokens: n, ignoreEos: true });
    assert.deepEqual(got.tokens[0], want.tokens);
    assert.deepEqual(got.tokens[1], want.tokens, "every row of a batch decodes the same");
    return got.tokens[0]!;
  } finally {
    await gen.release();
  }
}
