// The demo's one-line reading of its in-domain perplexities.
import assert from "node:assert/strict";
import { test } from "node:test";
import { reading } from "./demo.js";

const p = (base: number, pruned: number, retrained?: number) => ({
  base: { ppl_x: { value: base } },
  pruned: { ppl_x: { value: pruned } },
  ...(retrained === undefined ? {} : { retrained: { ppl_x: { value: retrained } } }),
});

test("the demo's reading says how much pruning cost and how much retraining won back", () => {
  assert.equal(
    reading(p(5, 13, 9), "ppl_x", 2, 8),
    "removing 2 of 8 blocks raised in-domain perplexity 5.00 -> 13.00; the short LoRA run won back 50% of the increase (9.00)",
  );
  assert.match(reading(p(5, 13, 14), "ppl_x", 2, 8), /won none of it back \(14\.00\)/);
  assert.match(reading(p(5, 13, 4), "ppl_x", 2, 8), /brought it back to 4\.00, at or below the base/);
  assert.match(reading(p(5, 4.5), "ppl_x", 1, 8), /^removing 1 of 8 blocks did not raise/);
  assert.match(reading(p(5, 13), "ppl_x", 2, 8), /no retraining was run$/);
  assert.equal(reading(p(5, 13), "ppl_missing", 2, 8), "no in-domain perplexity to read");
});
