import assert from "node:assert/strict";
import { test } from "node:test";
import { plusOrder, stableOrder } from "./orders.js";

test("stable ascending order keeps index order on ties", () => {
  assert.deepEqual(stableOrder([3, 1, 2, 1, 0]), [4, 1, 3, 2, 0]);
});

test('"+" order drops the first 4 and last 2 blocks; groups touching them are dropped', () => {
  assert.deepEqual(plusOrder([9, 0, 5, 4, 8, 3, 6, 7, 1, 2], 10), [5, 4, 6, 7]);
  assert.deepEqual(plusOrder([3, 4, 5, 6, 7], 10, 4, 2, 2), [4, 5, 6]);
});
