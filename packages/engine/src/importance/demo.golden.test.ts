// The demo model (models/tinystories-llama-8L) against the oracle: calibration windows drawn from the
// WikiText-2 text, and every forward-only criterion.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertAllRel, assertRel, DEMO_MODEL, fixture } from "../test-support/engine-fixtures.js";
import { blockImportance } from "./block-importance.js";

const WIKITEXT = fileURLToPath(new URL("../../../../data/ppl/wikitext2_test_hf_joined.txt", import.meta.url));

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
