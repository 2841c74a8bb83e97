import assert from "node:assert/strict";
import { test } from "node:test";
import { warpedDistribution } from "./sampling.js";

const close = (a: number[], b: number[]) => a.every((x, i) => Math.abs(x - b[i]!) < 1e-12);

test("warpers: temperature, then top-k (ties at the k-th value kept), then top-p (smallest set reaching p)", () => {
  const logits = [1, 3, 2, 2, -1];
  const all = warpedDistribution(logits, { doSample: true });
  assert.deepEqual(all.ids, [1, 2, 3, 0, 4]);
  const z = logits.reduce((s, v) => s + Math.exp(v), 0);
  assert.ok(
    close(
      all.probs,
      [3, 2, 2, 1, -1].map((v) => Math.exp(v) / z),
    ),
  );
  assert.deepEqual(warpedDistribution(logits, { doSample: true, topK: 2 }).ids, [1, 2, 3]);
  const p1 = Math.exp(3) / z;
  assert.deepEqual(warpedDistribution(logits, { doSample: true, topP: p1 - 1e-9 }).ids, [1]);
  assert.deepEqual(warpedDistribution(logits, { doSample: true, topP: p1 + 1e-9 }).ids, [1, 2]);
  const hot = warpedDistribution(logits, { doSample: true, temperature: 100 });
  assert.ok(Math.max(...hot.probs) - Math.min(...hot.probs) < 0.05);
});
