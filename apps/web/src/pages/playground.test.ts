import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Job, JobEvent } from "../lib/types.js";
import { columnView, generateSpec } from "./playground.js";

const job = (o: Partial<Job>): Job =>
  ({
    id: "j",
    kind: "evaluate",
    state: "running",
    createdAt: new Date(0).toISOString(),
    result: null,
    ...o,
  }) as Job;
const progress = (step: number, text: string): JobEvent => ({
  seq: String(step),
  type: "progress",
  data: { fraction: step / 10, step, totalSteps: 10, text, ttftS: 0.05, tokensPerS: 40 },
  createdAt: new Date(0).toISOString(),
});

describe("playground", () => {
  it("asks every version for the same prompt, settings and seed; greedy unless a temperature is set", () => {
    const s = { prompt: "Once", maxNewTokens: 8, temperature: 0, seed: 3 };
    assert.deepEqual(generateSpec("v1", s), {
      kind: "evaluate",
      task: "generate",
      model: "v1",
      prompts: ["Once"],
      maxNewTokens: 8,
      seed: 3,
    });
    assert.deepEqual(generateSpec("v2", { ...s, temperature: 0.7 }), {
      ...generateSpec("v2", s),
      sample: true,
      temperature: 0.7,
    });
  });

  it("shows the streamed text while running, then the result's text and timing", () => {
    const events = [progress(1, " There"), progress(4, " There was a")];
    const running = columnView(job({}), events);
    assert.equal(running.text, " There was a");
    assert.equal(running.newTokens, 4);
    assert.equal(running.tokensPerS, 40);
    assert.equal(running.status, "");
    const done = columnView(
      job({
        state: "succeeded",
        result: {
          samples: [{ outputs: [{ text: " There was a dog.", newTokens: 6 }] }],
          timing: [{ ttftS: 0.04, tokensPerS: 55 }],
        },
      }),
      events,
    );
    assert.deepEqual(
      { text: done.text, newTokens: done.newTokens, ttftS: done.ttftS, tokensPerS: done.tokensPerS },
      { text: " There was a dog.", newTokens: 6, ttftS: 0.04, tokensPerS: 55 },
    );
  });

  it("says when the queue is busy, and why a column stopped", () => {
    assert.equal(columnView(job({ state: "queued" }), [], 1000).status, "queued");
    assert.match(
      columnView(job({ state: "queued" }), [], 10_000).status,
      /queued for 10 s: every worker is busy/,
    );
    assert.equal(
      columnView(job({ state: "cancelled", reason: "cancelled by a user" }), []).status,
      "cancelled: cancelled by a user",
    );
    assert.equal(columnView(undefined, []).status, "submitting…");
  });
});
