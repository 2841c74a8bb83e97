// The errors a job attempt ends with cross the IPC channel from the job process to the worker, which tells
// them apart by class: each must come back as itself (a cancelled job mistaken for a failed attempt was
// retried and left queued for ever).
import assert from "node:assert/strict";
import { it } from "node:test";
import { JobNoLongerRunning } from "@shortened/adapters";
import { UserError } from "@shortened/contracts";
import { AttemptSuperseded, JobCancelled, TooManyPreemptions, WorkerStopping } from "@shortened/jobs";
import { fromWire, toWire } from "./job-process.js";

/** What the worker receives: the error through the wire format and the structured clone of IPC. */
const across = (e: Error) => fromWire(structuredClone(toWire(e)));

it("brings every error class the worker tells apart back as itself, with its message", () => {
  const errors: [Error, new (...a: never[]) => Error][] = [
    [new JobCancelled("j1"), JobCancelled],
    [new AttemptSuperseded("j1", 3), AttemptSuperseded],
    [new WorkerStopping("the worker is shutting down (SIGTERM)"), WorkerStopping],
    [new JobNoLongerRunning("j1"), JobNoLongerRunning],
    [new TooManyPreemptions("j1", 21, 20), TooManyPreemptions],
    [new UserError("bad_request", "no such block", 422), UserError],
  ];
  for (const [e, cls] of errors) {
    const back = across(e);
    assert.ok(back instanceof cls, `${e.name} came back as ${back.name}`);
    assert.equal(back.message, e.message);
  }
  const superseded = across(new AttemptSuperseded("j1", 3)) as AttemptSuperseded;
  assert.deepEqual([superseded.jobId, superseded.attempt], ["j1", 3]);
  assert.equal((across(new JobNoLongerRunning("j2")) as JobNoLongerRunning).jobId, "j2");
  const user = across(new UserError("bad_request", "no such block", 422)) as UserError;
  assert.deepEqual([user.code, user.status], ["bad_request", 422]);
});
