// Perplexity against the oracle's `ppl` (eval_ppl protocol) for every BOS policy on every architecture.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertAllRel, assertRel, fixture, MODELS, modelDir } from "../test-support/engine-fixtures.js";
import { perplexity } from "./perplexity.js";

const ids: number[] = fixture("stream.json").ids;

for (const m of MODELS) {
  test(`perplexity of ${m} equals the oracle for BOS first, every and none`, async () => {
    for (const bos of ["first", "every", "none"] as const) {
      const ref = fixture(`cases/${m}/ppl_${bos}.json`);
      const r = await perplexity({
        model: modelDir(m),
        ids,
        seqLen: 32,
        bos,
        bosId: 1,
        batchSize: 3,
        threads: 1,
      });
      assertRel(r.ppl, ref.ppl, 1e-4, `${m} ${bos} ppl`);
      assert.equal(r.tokens, ref.tokens);
      assert.equal(r.nsamples, ref.nsamples);
      assertAllRel(r.segmentMeanNll, ref.segment_mean_nll, 1e-4, `${m} ${bos} segments`);
      assert.equal(r.protocol.bos, bos);
      assert.equal(r.protocol.seqLen, 32);
      assert.equal(r.protocol.dtype, "float32");
    }
  });
}
