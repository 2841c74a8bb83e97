// Greedy generation with the KV cache equals recomputation on the later architectures: per-layer sliding windows
// that bite during decoding (qwen2, qwen3, gemma2, gemma3_text local/global RoPE, phi3), Gemma-2's attention and
// final soft-capping, and every RoPE scaling type; a longrope generation that would cross the switch is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { isUserError } from "@shortened/contracts";
import { checkCacheEqualsRecompute } from "../test-support/greedy.js";
import { KvGenerator } from "./generator.js";

const models = fileURLToPath(new URL("../fixtures/arch/models/", import.meta.url));
const prompt = [3, 1, 4, 1, 5, 9];

for (const m of [
  "qwen2-window",
  "qwen3",
  "gemma2",
  "gemma3",
  "phi3",
  "llama-yarn",
  "llama-llama3",
  "llama-linear",
]) {
  test(`${m}: greedy with the KV cache equals recomputation (windows smaller than the sequence)`, async () => {
    await checkCacheEqualsRecompute(`${models}${m}`, prompt, 10);
  });
}

test("dynamic and longrope within max_position_embeddings / before the switch: cache equals recomputation", async () => {
  await checkCacheEqualsRecompute(`${models}llama-dynamic`, prompt, 6);
  await checkCacheEqualsRecompute(`${models}phi3-longrope`, prompt, 6);
});

test("a generation across phi3's longrope switch (original_max_position_embeddings 12) is refused", async () => {
  const gen = await KvGenerator.open(`${models}phi3-longrope`, { threads: 1 });
  try {
    await assert.rejects(
      gen.generate([prompt], { doSample: false, maxNewTokens: 8, ignoreEos: true }),
      (e) => isUserError(e) && /cross the longrope switch at 12 positions/.test((e as Error).message),
    );
  } finally {
    await gen.release();
  }
});
