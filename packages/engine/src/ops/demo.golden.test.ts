// The demo model (models/tinystories-llama-8L) against the oracle: WikiText-2 perplexity for every BOS policy
// (first 8192 tokens), calibration windows drawn from the WikiText-2 text, and every forward-only criterion.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadTokenizer } from "@shortened/hf";
import { assertAllRel, assertRel, DEMO_MODEL, fixture } from "../test-support/engine-fixtures.js";
import { blockImportance } from "./importance.js";
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

test("calibration drawn from the WikiText-2 text equals gen-calib, and the ppl criterion equals the oracle", async () => {
  const ref = fixture("demo/importance_ppl.json");
  const r = await blockImportance({
    model: DEMO_MODEL,
    criterion: "ppl",
    calibText: WIKITEXT,
    n: 10,
    seqLen: 128,
    seed: 1234,
  });
  // the rows drawn here are gen-calib's rows (their hash), not just rows giving similar scores
  const genCalibRows: number[][] = fixture("demo/calib_wikitext2.json").batch;
  assert.equal(
    r.calibration!.rowsSha256,
    createHash("sha256").update(JSON.stringify(genCalibRows.flat())).digest("hex"),
  );
  assertAllRel(r.scores, ref.block_scores, 1e-4, "ppl scores");
  assertRel(r.basePpl!, ref.base_ppl, 1e-4, "base ppl");
  assert.deepEqual(r.order, ref.block_order);
  assert.deepEqual(r.orderPlus, ref.block_order_plus);
});

test("demo model magnitude, bi and angular importance equal the oracle", async () => {
  const calibIds: number[][] = fixture("demo/calib_wikitext2.json").batch;
  for (const criterion of ["magnitude", "bi", "angular"] as const) {
    const ref = fixture(`demo/importance_${criterion}.json`);
    const r = await blockImportance({ model: DEMO_MODEL, criterion, calibIds });
    assertAllRel(r.scores, ref.block_scores, 1e-4, `${criterion} scores`);
    assert.deepEqual(r.order, ref.block_order);
  }
});
