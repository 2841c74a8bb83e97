// float16 compute (./precision.ts) against the float64 oracle's fixtures, within the tolerances derived in
// ../test-support/half-tolerance.ts: perplexity on every architecture, the PPL criterion's scores and order,
// Taylor+; and the same graphs in float32 stay as they were.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { perplexity } from "../eval/perplexity.js";
import { estimateWhole, weightBytes } from "../execution/estimate.js";
import { blockImportance } from "../importance/block-importance.js";
import { taylorImportance } from "../importance/taylor.js";
import { assertAllRel, assertRel, fixture, MODELS, modelDir } from "../test-support/engine-fixtures.js";
import { assertOrderWhereSeparated, halfTolerance } from "../test-support/half-tolerance.js";
import { TRAIN_FIXTURE_NAMES, trainFixture } from "../test-support/train-fixtures.js";
import { openCheckpoint } from "./weights.js";

const ids: number[] = fixture("stream.json").ids;
const calibIds: number[][] = fixture("calib.json").batch;
const root = fileURLToPath(new URL("../../../..", import.meta.url));

for (const m of MODELS) {
  test(`float16 perplexity and PPL criterion of ${m} are within 4u√D of the oracle`, async () => {
    const L = openCheckpoint(modelDir(m)).config.numHiddenLayers;
    const tol = halfTolerance(L);
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
    });
    assert.equal(r.protocol.dtype, "float16");
    assertRel(r.ppl, ref.ppl, tol, `${m} ppl`);
    // a mean NLL's absolute error is the perplexity's relative error
    r.segmentMeanNll.forEach((v, i) => {
      assert.ok(
        Math.abs(v - ref.segment_mean_nll[i]) <= tol,
        `${m} segment ${i}: ${v} vs ${ref.segment_mean_nll[i]}`,
      );
    });

    const imp = fixture(`cases/${m}/importance_ppl.json`);
    const s = await blockImportance({
      model: modelDir(m),
      criterion: "ppl",
      calibIds,
      batchSize: 4,
      threads: 1,
      dtype: "float16",
    });
    assertAllRel(s.scores, imp.block_scores, tol, `${m} scores`);
    assertRel(s.basePpl!, imp.base_ppl, tol, `${m} base ppl`);
    assertOrderWhereSeparated(s.scores, imp.block_scores, tol, m);
    assert.match(s.plan!.summary, /float16 weights/);
  });
}

for (const name of TRAIN_FIXTURE_NAMES) {
  test(`float16 Taylor+ of the ${name} fixture is within 4u√(2D) of the oracle (loss scaled)`, async () => {
    const f = trainFixture(name);
    const rows = f.calib as number[][];
    const model = `${root}/${f.model}`;
    const tol = halfTolerance(openCheckpoint(model).config.numHiddenLayers, true);
    const r = await taylorImportance(
      model,
      { flat: rows.flat(), rows: rows.length, seqLen: rows[0]!.length },
      { batchSize: f.taylor.batch_size, threads: 1, dtype: "float16" },
    );
    assertAllRel(r.blockScores, f.taylor.block_scores, tol, `${name} block scores`);
    assertOrderWhereSeparated(r.blockScores, f.taylor.block_scores, tol, name);
    assertAllRel(r.batchLosses, f.taylor.batch_losses, tol, `${name} batch losses`);
  });
}

test("the memory estimate counts float16 matrices at 2 bytes and vectors at 4", () => {
  const c = openCheckpoint(modelDir("llama8")).config;
  const f32 = weightBytes(c, "float32");
  const f16 = weightBytes(c, "float16");
  const vectors = c.hiddenSize * 4 * (1 + 2 * c.numHiddenLayers);
  assert.equal(f16.total - vectors, (f32.total - vectors) / 2);
  const w = { batch: 1, seqLen: 32, head: "nll" } as const;
  assert.ok(estimateWhole(c, { ...w, dtype: "float16" }).weights < estimateWhole(c, w).weights);
});

test("bfloat16 is refused on CPU with the reason", async () => {
  await assert.rejects(
    perplexity({ model: modelDir("llama8"), ids, seqLen: 32, threads: 1, dtype: "bfloat16" }),
    /bfloat16 needs the CUDA execution provider/,
  );
});
