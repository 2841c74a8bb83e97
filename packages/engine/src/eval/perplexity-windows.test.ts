import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluationWindows } from "./perplexity-windows.js";

const ids = [10, 11, 12, 13, 14, 15, 16];

test("BOS first: [BOS] + ids cut into windows of S, trailing partial window dropped", () => {
  const w = evaluationWindows(ids, 3, "first", 1);
  assert.deepEqual(w, { flat: [1, 10, 11, 12, 13, 14], count: 2, length: 3 });
});

test("BOS every: each window of S ids gets its own BOS (length S + 1)", () => {
  const w = evaluationWindows(ids, 3, "every", 1);
  assert.deepEqual(w, { flat: [1, 10, 11, 12, 1, 13, 14, 15], count: 2, length: 4 });
});

test("BOS none: plain windows of S", () => {
  const w = evaluationWindows(ids, 3, "none");
  assert.deepEqual(w, { flat: [10, 11, 12, 13, 14, 15], count: 2, length: 3 });
});
