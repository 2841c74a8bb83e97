// The quantization's memory plan on TinyLlama-1.1B's shapes: what it counts, the batch shrinking to fit a
// budget, and the paper's 128 × 2048 calibration refused under 4G with what would fit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isUserError } from "@shortened/contracts";
import { TINYLLAMA } from "../test-support/big-configs.js";
import { estimateQuantize, planQuantize } from "./quantize-plan.js";

const G = 2 ** 30;
const tinyLlama = TINYLLAMA;

test("the estimate counts the hidden states, a block's weights, the widest factor and one forward", () => {
  const e = estimateQuantize(tinyLlama, 128, 2048, 1, "gptq");
  assert.equal(e.hiddenStates, 128 * 2048 * 2048 * 4); // 2 GiB
  const block = 4 * (2048 * 2048 * 2 + 2048 * 256 * 2 + 3 * 2048 * 5632 + 2 * 2048);
  assert.equal(e.weights, 2 * block + 2 * 5632 * 2048 * 8);
  assert.equal(e.factor, 5632 * 5632 * (8 * 3.25 + 4)); // down_proj's 5632-wide Hessian
  assert.equal(e.total, e.hiddenStates + e.weights + e.factor + e.activations + e.runtime);
  assert.ok(estimateQuantize(tinyLlama, 128, 2048, 1, "rtn").factor > e.factor);
  assert.ok(estimateQuantize(tinyLlama, 128, 2048, 2, "gptq").activations > e.activations);
});

test("the batch halves until the peak fits; a small calibration fits 4G as asked", () => {
  const asked = planQuantize({
    config: tinyLlama,
    rows: 8,
    seqLen: 512,
    batch: 4,
    method: "gptq",
    memoryBudget: "4G",
  });
  assert.equal(asked.batch, 4);
  assert.ok(asked.estimate.total <= 4 * G);
  assert.match(
    asked.summary,
    /4 calibration rows per forward, estimated peak .* of a 4\.00 GB budget \(option\)/,
  );
  const tight = planQuantize({
    config: tinyLlama,
    rows: 8,
    seqLen: 512,
    batch: 8,
    method: "gptq",
    memoryBudget: "2.2G",
  });
  assert.ok(tight.batch < 8 && tight.batch >= 1, `batch ${tight.batch}`);
  assert.ok(tight.estimate.total <= 2.2 * G);
  assert.ok(estimateQuantize(tinyLlama, 8, 512, tight.batch * 2, "gptq").total > 2.2 * G);
  assert.match(tight.summary, /\(of 8 asked\)/);
});

test("the paper's 128 × 2048 calibration does not fit 4G: refused, naming fewer rows or a budget", () => {
  assert.throws(
    () =>
      planQuantize({
        config: tinyLlama,
        rows: 128,
        seqLen: 2048,
        batch: 8,
        method: "gptq",
        memoryBudget: "4G",
      }),
    (e) =>
      isUserError(e) &&
      /quantizing does not fit the 4\.00 GB budget/.test(e.message) &&
      /calibration hidden states 2\.\d+ GB/.test(e.message) &&
      /at most \d+ calibration rows of 2048 tokens/.test(e.message) &&
      /`memoryBudget` \d/.test(e.message),
  );
});
