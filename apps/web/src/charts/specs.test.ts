import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blockStatuses, importanceOverlaySpec } from "./specs.js";

describe("chart specs", () => {
  it("marks the + rule's protected blocks and the removed ones", () => {
    assert.deepEqual(blockStatuses(6, { keepFirst: 1, keepLast: 2, removed: [2] }), [
      "protected by the + rule",
      "kept",
      "removed",
      "kept",
      "protected by the + rule",
      "protected by the + rule",
    ]);
    assert.deepEqual(blockStatuses(3, { keepFirst: 1, keepLast: 1, plus: false, removed: [0] }), [
      "removed",
      "kept",
      "kept",
    ]);
  });
  it("scales each criterion to [0, 1] for the overlay", () => {
    const spec = importanceOverlaySpec([
      { criterion: "ppl", scores: [10, 30, 20] },
      { criterion: "magnitude", scores: [5, 5, 5] },
    ]) as { data: { values: { criterion: string; scaled: number }[] } };
    assert.deepEqual(
      spec.data.values.map((v) => v.scaled),
      [0, 1, 0.5, 0, 0, 0],
    );
  });
});
