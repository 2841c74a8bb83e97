// Streamed zero-shot loglikelihoods equal the whole model's within 1e-5 (the same packed batches, several batches
// of different lengths per pass, the head in chunks).

import assert from "node:assert/strict";
import { test } from "node:test";
import type { TokenRequest } from "@shortened/hf";
import { loglikelihoods, packRequests } from "../eval/zeroshot/loglikelihood.js";
import { ForwardSession } from "../models/forward-session.js";
import { openCheckpoint } from "../models/weights.js";
import { assertAllRel, fixture, MODELS, modelDir } from "../test-support/engine-fixtures.js";
import { streamedLoglikelihoods } from "./streamed-loglikelihoods.js";
import { StreamedModel } from "./streamed-model.js";

const ids: number[] = fixture("stream.json").ids;

for (const m of MODELS) {
  test(`streamed zero-shot loglikelihoods of ${m} equal the whole model within 1e-5`, async () => {
    const ckpt = openCheckpoint(modelDir(m));
    const V = ckpt.config.vocabSize;
    const tok = ids.map((t) => t % V);
    // contexts of 3..20 tokens, continuations of 1..5, a repeated request, one truncated by the window
    const requests: TokenRequest[] = [];
    for (let k = 0; k < 14; k++) {
      const c0 = (k * 7) % 40;
      const ctx = tok.slice(c0, c0 + 3 + ((k * 5) % 18));
      const cont = tok.slice(c0 + 30, c0 + 31 + (k % 5));
      requests.push({ contextIds: ctx, continuationIds: cont });
    }
    requests.push(requests[3]!);
    const maxLength = 16;
    const whole = await ForwardSession.open(ckpt, { nll: true, threads: 1 });
    const streamed = await StreamedModel.open(ckpt, { threads: 1, maxSeqLen: maxLength, headChunkRows: 41 });
    try {
      const opts = { maxLength, tokensPerBatch: 40 };
      const a = await loglikelihoods(whole, requests, opts);
      // the head reads continuation tokens only: its rows are their count, not every packed position
      let headRows = 0;
      const headNll = streamed.headNll.bind(streamed);
      streamed.headNll = (sets) => {
        for (const { h } of sets) headRows += h.batch * h.seqLen;
        return headNll(sets);
      };
      const b = await streamedLoglikelihoods(streamed, requests, { ...opts, tokensPerPass: 90 });
      assertAllRel(b, a, 1e-5, `${m} loglikelihoods`);
      const rows = packRequests(requests, opts).flatMap((batch) => batch.rows);
      assert.equal(
        headRows,
        rows.reduce((n, r) => n + r.ids.length - 1 - r.start, 0),
      );
    } finally {
      await whole.release();
      await streamed.release();
    }
  });
}
