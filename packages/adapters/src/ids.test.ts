import assert from "node:assert/strict";
import { test } from "node:test";
import { isUuid, uuidv7 } from "./ids.js";

test("uuidv7 ids made in the same millisecond sort in creation order", () => {
  const now = Date.now() + 10_000; // a millisecond no other test used
  const ids = Array.from({ length: 5000 }, () => uuidv7(now));
  assert.ok(ids.every(isUuid));
  assert.ok(
    ids.every((id) => id[14] === "7"),
    "version nibble is 7",
  );
  const sorted = [...ids].sort();
  assert.deepEqual(sorted, ids);
  assert.equal(new Set(ids).size, ids.length);
});
