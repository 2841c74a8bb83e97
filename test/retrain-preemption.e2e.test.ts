// Preemption is not failure (issue 12 item 4): a LoRA job whose worker is killed (-9) three times and
// stopped by SIGTERM once still succeeds, resumes from its saved state each time, counts 4 preemptions,
// and ends with outputs bit-identical (sha256) to an uninterrupted run of the same spec, recorded once.
// (bench/faults/preemption.ts runs the same with more kills, for the README's figures.)
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type PreemptionStack, preemptionStack } from "./helpers/preemption.js";

describe("retrain under preemption", { timeout: 600_000 }, () => {
  let stack: PreemptionStack;
  before(async () => {
    stack = await preemptionStack();
  });
  after(async () => {
    await stack?.close();
  });

  it("survives kill -9 and SIGTERM of its workers with the same outputs as an uninterrupted run", async () => {
    const clean = await stack.run([]);
    assert.equal(clean.state, "succeeded", JSON.stringify(clean));
    // (A machine so busy that a live worker cannot renew its lock in time also counts as a preemption.)
    assert.equal(clean.attempts, clean.preemptions + 1, "no attempt failed");
    const hit = await stack.run(["kill", "term", "kill", "kill"]);
    assert.equal(hit.state, "succeeded", JSON.stringify(hit));
    assert.equal(hit.kills + hit.sigterms, 4, "each interruption happened while the job ran");
    assert.ok(hit.preemptions >= 4, JSON.stringify(hit));
    assert.equal(
      hit.attempts,
      hit.preemptions + 1,
      "every attempt after the first is a preemption, none a failure",
    );
    assert.ok(hit.resumedFrom[0] > 0, `the last attempt resumed from a saved step (${hit.resumedFrom})`);
    assert.deepEqual(hit.outputs, clean.outputs, "same sha256 of every output");
    assert.equal(hit.versions, 1);
    assert.equal(hit.metrics, clean.metrics);
    assert.equal(hit.artifactRows, clean.artifactRows);
  });
});
