import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { isUserError } from "@shortened/contracts";
import { loadTokenizer } from "@shortened/hf";
import { checkCacheEqualsRecompute } from "../test-support/greedy.js";
import { KvGenerator } from "./generator.js";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const randomModel = `${root}packages/engine/src/fixtures/zeroshot/random-llama`;
const demoModel = `${root}models/tinystories-llama-8L`;

test("greedy with the KV cache equals greedy by full recomputation (random GQA llama, 40 tokens)", async () => {
  await checkCacheEqualsRecompute(randomModel, [5, 200, 17, 99, 3, 3, 42], 40);
});

test("greedy with the KV cache equals full recomputation on the demo model, and reads as TinyStories", async () => {
  const tok = loadTokenizer(demoModel);
  const prompt = tok.encode("Once upon a time", { addSpecialTokens: true });
  const tokens = await checkCacheEqualsRecompute(demoModel, prompt, 30);
  assert.match(tok.decode(tokens), /^, there was a little/);
});

test("EOS ends a row; seeded sampling is reproducible; top-k 1 is greedy; bad requests are UserErrors", async () => {
  const gen = await KvGenerator.open(randomModel, { threads: 1 });
  try {
    const prompt = [[1, 2, 3]];
    const greedy = await gen.generate(prompt, { doSample: false, maxNewTokens: 12, ignoreEos: true });
    const stopAt = greedy.tokens[0]![4]!;
    const stopped = await gen.generate(prompt, { doSample: false, maxNewTokens: 12, eosIds: [stopAt] });
    assert.deepEqual(stopped.tokens[0], greedy.tokens[0]!.slice(0, greedy.tokens[0]!.indexOf(stopAt) + 1));
    assert.deepEqual(stopped.finish, ["eos"]);
    const sample = (seed: number) =>
      gen.generate(prompt, {
        doSample: true,
        temperature: 1.5,
        topP: 0.95,
        maxNewTokens: 20,
        seed,
        ignoreEos: true,
      });
    const [a, b, c] = [await sample(7), await sample(7), await sample(8)];
    assert.deepEqual(a.tokens, b.tokens);
    assert.notDeepEqual(a.tokens, c.tokens);
    const topK1 = await gen.generate(prompt, {
      doSample: true,
      topK: 1,
      maxNewTokens: 12,
      seed: 3,
      ignoreEos: true,
    });
    assert.deepEqual(topK1.tokens, greedy.tokens);
    const bad = (p: Promise<unknown>, re: RegExp) =>
      assert.rejects(p, (e) => isUserError(e) && re.test((e as Error).message));
    await bad(gen.generate([[]], { doSample: false, maxNewTokens: 3 }), /prompt is empty/);
    await bad(gen.generate(prompt, { doSample: false, maxNewTokens: 500 }), /exceed/);
    await bad(gen.generate(prompt, { doSample: true, temperature: 0, maxNewTokens: 3 }), /temperature/);
  } finally {
    await gen.release();
  }
});

test("KV cache equals recomputation for every architecture (Gemma, Qwen2 biases, Mistral with a sliding window that bites)", async (t) => {
  const fixtures = `${root}packages/hf/src/fixtures/prune/`;
  for (const name of ["gemma-f32-untied", "qwen2-f32-tied", "llama-f16-tied-gqa"]) {
    await checkCacheEqualsRecompute(`${fixtures}${name}/model`, [3, 1, 4, 1, 5], 10);
  }
  // Mistral: a 4-token window, so keys fall out of the window during decoding.
  const dir = mkdtempSync(join(tmpdir(), "kv-mistral-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(`${fixtures}mistral-f32-untied/model`, dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, sliding_window: 4 }));
  await checkCacheEqualsRecompute(dir, [3, 1, 4, 1, 5, 9], 12);
});
