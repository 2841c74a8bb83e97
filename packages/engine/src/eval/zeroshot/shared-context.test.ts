// The shared-context scorer runs its head on the continuation tokens alone (the whole-model zero-shot peak was
// the head's logits over every prefill position), and still gives the loglikelihoods of full rows.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { TokenRequest } from "@shortened/hf";
import { ForwardSession } from "../../models/forward-session.js";
import { loglikelihoods } from "./loglikelihood.js";
import { SharedContextScorer } from "./shared-context.js";

const model = fileURLToPath(new URL("../../fixtures/zeroshot/random-llama", import.meta.url));

/** Two documents of different context lengths, with choices of different lengths, and a repeated context. */
const requests: TokenRequest[] = [
  { contextIds: [5, 9, 40, 41, 42, 7, 8], continuationIds: [3] },
  { contextIds: [5, 9, 40, 41, 42, 7, 8], continuationIds: [10, 11, 12, 13] },
  { contextIds: [5, 9, 40, 41, 42, 7, 8], continuationIds: [20, 21] },
  { contextIds: [77, 78, 79], continuationIds: [100, 101, 102] },
  { contextIds: [77, 78, 79], continuationIds: [1] },
];

test("the shared-context head scores only continuation tokens: rows = their count, not documents × positions", async () => {
  const scorer = await SharedContextScorer.open(model, { threads: 1 });
  let shared: number[];
  try {
    shared = await scorer.loglikelihoods(requests, {});
    const continuationTokens = requests.reduce((n, r) => n + r.continuationIds.length, 0);
    // the head over every position would add the prefill (2 × 6) and each choice row's padding (5 × 4 − 11)
    assert.equal(scorer.headRows, continuationTokens);
  } finally {
    await scorer.release();
  }
  const session = await ForwardSession.open(model, { nll: true, threads: 1 });
  try {
    const full = await loglikelihoods(session, requests, { maxLength: 192 });
    for (const [i, ll] of shared.entries())
      assert.ok(Math.abs(ll - full[i]!) < 1e-4, `request ${i}: ${ll} vs ${full[i]}`);
  } finally {
    await session.release();
  }
});
