import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import type { Job, JobEvent } from "../lib/types.js";
import { importanceView, studyView, timeline, trainingPoints } from "./job-data.js";

const ev = (seq: number, type: JobEvent["type"], data: Record<string, unknown>, jobId = "p"): JobEvent => ({
  seq: String(seq),
  type,
  jobId,
  data,
  createdAt: new Date(seq * 1000).toISOString(),
});

const job = (o: Partial<Job>): Job =>
  ({ id: "x", kind: "pipeline", state: "succeeded", spec: {}, parentJobId: null, result: null, ...o }) as Job;

describe("job page data", () => {
  it("keeps each training step once (a resumed attempt repeats steps) and skips evaluator progress", () => {
    const pts = trainingPoints([
      ev(
        1,
        "progress",
        {
          fraction: 0.1,
          step: 1,
          totalSteps: 3,
          loss: 5,
          lr: 1e-3,
          gradNorm: 2,
          tokensPerS: 900,
          phase: "lora",
        },
        "r",
      ),
      ev(
        2,
        "progress",
        {
          fraction: 0.2,
          step: 2,
          totalSteps: 3,
          loss: 4,
          lr: 1e-3,
          gradNorm: 2,
          tokensPerS: 900,
          phase: "lora",
        },
        "r",
      ),
      ev(
        3,
        "progress",
        {
          fraction: 0.2,
          step: 2,
          totalSteps: 3,
          loss: 3.9,
          lr: 1e-3,
          gradNorm: 2,
          tokensPerS: 800,
          phase: "lora",
        },
        "r",
      ),
      ev(4, "progress", { fraction: 0.5, step: 10, totalSteps: 20, phase: "ppl wikitext2" }, "e"),
    ]);
    assert.deepEqual(
      pts.map((p) => [p.step, p.loss]),
      [
        [1, 5],
        [2, 3.9],
      ],
    );
  });
  it("builds the state timeline of the job itself, with attempts", () => {
    const t = timeline(
      [
        ev(1, "state", { state: "queued" }),
        ev(2, "state", { state: "running" }),
        ev(3, "state", { state: "running" }, "child"),
        ev(4, "log", { line: "attempt 2 started (the previous one stopped)" }),
        ev(5, "state", { state: "succeeded" }),
      ],
      "p",
    );
    assert.deepEqual(
      t.map((x) => x.what),
      ["queued", "running", "attempt 2 started (the previous one stopped)", "succeeded"],
    );
  });
  it("shows a pipeline's importance with the + rule's margins and the pruned blocks", () => {
    const v = importanceView(job({ spec: { importance: { keepFirst: 1, keepLast: 1 } } }), [
      job({
        id: "i",
        kind: "importance",
        spec: { keepFirst: 1, keepLast: 1 },
        result: { criterion: "ppl", scores: [5, 1, 2, 9] },
      }),
      job({ id: "q", kind: "prune", spec: { rule: "plus" }, result: { removed: [1] } }),
    ]);
    assert.deepEqual(v, {
      criterion: "ppl",
      scores: [5, 1, 2, 9],
      keepFirst: 1,
      keepLast: 1,
      plus: true,
      removed: [1],
      order: undefined,
    });
  });
});

test("a study's cells become chart points of its first perplexity, the dense model apart", () => {
  const cell = (criterion: string, count: number, method: string, ppl: number) => ({
    criterion,
    count,
    ratio: count / 8,
    removed: [6, 5].slice(0, count),
    method,
    versionId: "v",
    metrics: { ppl_tinystories: { value: ppl, protocol: {} } },
  });
  const study = {
    kind: "study",
    result: {
      dense: { metrics: { ppl_tinystories: { value: 5.5, protocol: {} } } },
      cells: [cell("ppl", 1, "none", 7), cell("ppl", 1, "lora", 6.5), cell("magnitude", 2, "none", 11)],
    },
  } as unknown as Job;
  const v = studyView(study)!;
  assert.equal(v.dataset, "tinystories");
  assert.equal(v.dense, 5.5);
  assert.deepEqual(v.points[1], { criterion: "ppl", method: "lora", ratio: 0.125, ppl: 6.5 });
  assert.equal(v.cells.length, 3);
  assert.equal(studyView(job({})), null);
});
