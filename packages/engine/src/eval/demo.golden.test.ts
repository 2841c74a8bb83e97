// The demo model (models/tinystories-llama-8L) against the oracle: WikiText-2 perplexity for every BOS policy
// (first 8192 tokens). Its importance counterpart is ../importance/demo.golden.test.ts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadTokenizer } from "@shortened/hf";
import { assertRel, DEMO_MODEL, fixture } from "../test-support/engine-fixtures.js";
import { perplexity } from "./perplexity.js";

const WIKITEXT = fileURLToPath(new URL("../../../../data/ppl/wikitext2_test_hf_joined.txt", import.meta.url));
const ids = loadTokenizer(DEMO_MODEL).encode(readFileSync(WIKITEXT, "utf8"), { addSpecialTokens: false });

test("the WikiText-2 ids are those the fixtures were made from", () => {
  const s = fixture("demo/wt2_ids_summary.json");
  assert.equal(ids.length, s.tokens);
  assert.deepEqual(ids.slice(0, 32), s.first);
  assert.deepEqual(ids.slice(-32), s.last);
});

test("demo model perplexity on WikiText-2 (first 8192 tokens) equals the oracle for every BOS policy", async () => {
  for (const bos of ["first", "every", "none"] as const) {
    const ref = fixture(`demo/wikitext2_head_${bos}.json`);
    const r = await perplexity({
      model: DEMO_MODEL,
      ids: ids.slice(0, 8192),
      seqLen: 128,
      bos,
      batchSize: 8,
    });
    assertRel(r.ppl, ref.ppl, 1e-4, `ppl ${bos}`);
    assert.equal(r.tokens, ref.tokens);
    assert.equal(r.protocol.bosId, bos === "none" ? null : 1);
  }
});
