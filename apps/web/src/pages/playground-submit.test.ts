import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Submission } from "./playground-submit.js";

/** A submission answered by the test: `answer(i, id)` or `refuse(i, error)`. */
function held(n: number) {
  const answers: ((id: string) => void)[] = [];
  const refusals: ((e: Error) => void)[] = [];
  const pending = Array.from(
    { length: n },
    (_, i) =>
      new Promise<string>((resolve, reject) => {
        answers[i] = resolve;
        refusals[i] = reject;
      }),
  );
  return {
    submit: (i: number) => pending[i]!,
    answer: (i: number, id: string) => answers[i]!(id),
    refuse: (i: number, e: Error) => refusals[i]!(e),
  };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("the playground's submission and Cancel all", () => {
  it("submits a job per column and cancels nothing unasked", async () => {
    const cancelled: string[] = [];
    const s = new Submission(async (id) => void cancelled.push(id));
    const out = await s.run(["a@1", "a@2"], async (i) => `job${i}`);
    assert.deepEqual(out.runs, [
      { label: "a@1", jobId: "job0" },
      { label: "a@2", jobId: "job1" },
    ]);
    assert.equal(out.error, undefined);
    await out.cancels;
    assert.deepEqual(cancelled, []);
  });

  it("cancels the jobs created after Cancel all was clicked during the submission, each once", async () => {
    const cancelled: string[] = [];
    const s = new Submission(async (id) => void cancelled.push(id));
    const h = held(3);
    const out = s.run(["a@1", "a@2", "a@3"], h.submit);
    h.answer(1, "job1");
    await tick();
    s.cancelAll(); // job1 exists already; job0 and job2 do not yet
    h.answer(0, "job0");
    await tick();
    h.answer(2, "job2");
    const { runs, cancels } = await out;
    await cancels;
    assert.deepEqual(
      runs.map((r) => r.jobId),
      ["job0", "job1", "job2"],
    );
    assert.deepEqual([...cancelled].sort(), ["job0", "job1", "job2"]);
  });

  it("keeps the columns whose job was created when another submission fails, and cancels them if asked", async () => {
    const cancelled: string[] = [];
    const s = new Submission(async (id) => void cancelled.push(id));
    const h = held(2);
    const out = s.run(["a@1", "a@2"], h.submit);
    s.cancelAll();
    h.refuse(0, new Error("429 rate_limited"));
    h.answer(1, "job1");
    const { runs, error, cancels } = await out;
    await cancels;
    assert.deepEqual(runs, [{ label: "a@2", jobId: "job1" }]);
    assert.match(String(error), /rate_limited/);
    assert.deepEqual(cancelled, ["job1"]);
  });
});
