import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { duration, etaSeconds, num, protocolText } from "./format.js";

describe("format", () => {
  it("estimates the time left from progress and start", () => {
    const start = new Date(0).toISOString();
    assert.equal(etaSeconds(0.25, start, 60_000), 180);
    assert.equal(etaSeconds(0, start, 60_000), null);
    assert.equal(etaSeconds(1, start, 60_000), null);
    assert.equal(etaSeconds(0.5, null), null);
  });
  it("writes durations and numbers for people", () => {
    assert.equal(duration(42), "42 s");
    assert.equal(duration(125), "2 min 5 s");
    assert.equal(duration(7322), "2 h 2 min");
    assert.equal(num(0.000123), "1.23e-4");
    assert.equal(num(231.5012), "231.5");
  });
  it("writes a protocol's scalar settings in one line", () => {
    assert.equal(
      protocolText({ task: "zeroshot", bos: "tokenizer", shots: 0, tasks: ["piqa"] }),
      "task=zeroshot · bos=tokenizer · shots=0",
    );
    assert.equal(protocolText(null), "");
  });
});
