import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { loadTokenizer, metaspaceSplitIsSafe } from "./tokenizer.js";

const demo = new URL("../../../models/tinystories-llama-8L", import.meta.url).pathname;
// biome-ignore lint/suspicious/noExplicitAny: tokenizer.json is edited freely in these tests
const demoJson = () => JSON.parse(readFileSync(`${demo}/tokenizer.json`, "utf8")) as Record<string, any>;

// Varied whitespace, digits, accents, emoji (byte fallback), special-token text.
const probes = [
  "Once upon a time, there was a little girl named Lily.",
  "  leading and trailing spaces   ",
  "tabs\tand\nnewlines\n\n  indented line",
  "Numbers 1234567 and dates 2024-01-31, café naïve résumé — “quotes”",
  "emoji 😀🚀 and CJK 漢字 and a zero\u200bwidth space and NBSP\u00a0here",
  "<s> literal special tokens </s> <unk>",
  "",
  "x",
  "▁ already ▁▁ metaspace ▁",
];

describe("loadTokenizer", () => {
  test("demo tokenizer: ids, bos/eos, decode round trip, hash", () => {
    const tok = loadTokenizer(demo);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.hash, "66eea3fe214501449a70293719b690630723a50eb41de1a18f2e041526346c61");
    const ids = tok.encode("Once upon a time");
    assert.equal(ids[0], 1);
    assert.deepEqual(tok.encode("Once upon a time", { addSpecialTokens: false }), ids.slice(1));
    assert.equal(
      tok.decode(tok.encode("Once upon a time, there was", { addSpecialTokens: false })),
      "Once upon a time, there was",
    );
  });

  test("the Metaspace split pre-tokenizer applies to the demo tokenizer and preserves ids", () => {
    assert.equal(metaspaceSplitIsSafe(demoJson()), true);
    const fast = loadTokenizer(demo);
    const plain = loadTokenizer(demo, { metaspaceSplit: false });
    const story = readFileSync(
      new URL("../../../models/tinystories-llama-8L/PROVENANCE.md", import.meta.url),
      "utf8",
    );
    for (const text of [...probes, story]) {
      assert.deepEqual(fast.encode(text), plain.encode(text), JSON.stringify(text.slice(0, 40)));
    }
  });

  test("the split is refused where it could change ids", () => {
    const json = demoJson();
    assert.equal(metaspaceSplitIsSafe({ ...json, pre_tokenizer: { type: "Whitespace" } }), false);
    assert.equal(
      metaspaceSplitIsSafe({ ...json, model: { ...json.model, vocab: { ...json.model.vocab, "a▁b": 999 } } }),
      false,
    );
    assert.equal(
      metaspaceSplitIsSafe({ ...json, model: { ...json.model, merges: [...json.model.merges, "e ▁"] } }),
      false,
    );
    const noMeta = { ...json.model.vocab };
    delete noMeta["▁"];
    assert.equal(metaspaceSplitIsSafe({ ...json, model: { ...json.model, vocab: noMeta } }), false);
    assert.equal(metaspaceSplitIsSafe({ ...json, model: { ...json.model, type: "Unigram" } }), false);
    assert.equal(metaspaceSplitIsSafe({ ...json, normalizer: null }), false);
  });

  test("a folder without tokenizer.json is a UserError", () => {
    assert.throws(() => loadTokenizer("/nonexistent-model-dir"), /no tokenizer.json/);
  });
});
