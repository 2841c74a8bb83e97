import assert from "node:assert/strict";
import { test } from "node:test";
import { withFlagNames } from "./flag-names.js";

test("backquoted spec fields in engine errors become the CLI's flags", () => {
  assert.equal(
    withFlagNames("`seqLen` must be an integer ≥ 2 (got 1)"),
    "--seq-len must be an integer ≥ 2 (got 1)",
  );
  assert.equal(
    withFlagNames("rows have 3 tokens, shorter than `calibration.seqLen` 8"),
    "rows have 3 tokens, shorter than --seq-len 8",
  );
  assert.equal(withFlagNames("give `bosId`, or `bos` none"), "give --bos-id, or --bos none");
  assert.equal(withFlagNames("`someField` is odd"), "someField is odd");
  assert.equal(withFlagNames("no fields here"), "no fields here");
});
