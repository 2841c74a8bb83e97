import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { paretoFront } from "./pareto.js";

describe("paretoFront", () => {
  it("keeps the points no other point beats on both perplexity and speed, by speed", () => {
    const pts = [
      { label: "base", ppl: 10, tokensPerS: 100 },
      { label: "pruned", ppl: 14, tokensPerS: 140 },
      { label: "retrained", ppl: 12, tokensPerS: 140 },
      { label: "worse", ppl: 13, tokensPerS: 90 },
      { label: "tie", ppl: 10, tokensPerS: 100 },
    ];
    assert.deepEqual(
      paretoFront(pts).map((p) => p.label),
      ["base", "tie", "retrained"],
    );
  });
  it("is empty for no points", () => assert.deepEqual(paretoFront([]), []));
});
