import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import {
  JobSpec,
  jobSpecByKind,
  PipelineSpec,
  PruneSpec,
  QUANTIZE_CALIBRATION,
  QuantizeSpec,
  quantizeCalibration,
} from "./jobs.js";

test("a job spec is completed with its defaults", () => {
  // The ppl source (dataset, text, ids or artifact) stays unset: the handler reads WikiText-2 when none is given.
  // So does the device: the worker that takes the job fills in its own (WORKER_DEVICE).
  const s = JobSpec.parse({ kind: "evaluate", model: "m" });
  assert.deepEqual(s, {
    kind: "evaluate",
    model: "m",
    task: "ppl",
    seqLen: 128,
    bos: "first",
    batchSize: 8,
  });
  assert.equal(
    (JobSpec.parse({ kind: "evaluate", model: "m", device: "cuda" }) as { device?: string }).device,
    "cuda",
  );
  assert.equal(JobSpec.safeParse({ kind: "evaluate", model: "m", device: "gpu" }).success, false);
});

test("prune needs exactly one of blocks or count", () => {
  assert.equal(PruneSpec.safeParse({ kind: "prune", model: "m" }).success, false);
  assert.equal(PruneSpec.safeParse({ kind: "prune", model: "m", blocks: [1], count: 1 }).success, false);
  assert.deepEqual(PruneSpec.parse({ kind: "prune", model: "m", blocks: [5, 6] }).blocks, [5, 6]);
});

test("unknown fields and kinds are refused", () => {
  assert.equal(JobSpec.safeParse({ kind: "evaluate", model: "m", sequence: 3 }).success, false);
  assert.equal(JobSpec.safeParse({ kind: "explode", model: "m" }).success, false);
  assert.equal(JobSpec.safeParse({ kind: "evaluate", model: "m", seqLen: 4 }).success, false);
});

test("a pipeline's steps carry no model of their own", () => {
  const p = PipelineSpec.parse({
    kind: "pipeline",
    model: "m",
    prune: { count: 2 },
    evaluate: [{ dataset: "ptb" }],
  });
  const [first] = p.evaluate;
  assert.equal(first.task, "ppl");
  assert.equal(first.task === "ppl" && first.dataset, "ptb");
  assert.equal(
    PipelineSpec.safeParse({ kind: "pipeline", model: "m", prune: { count: 2 }, evaluate: [{ model: "x" }] })
      .success,
    false,
  );
});

test("every spec converts to JSON Schema for the OpenAPI document", () => {
  const schema = z.toJSONSchema(JobSpec, { target: "draft-2020-12", io: "input" }) as { oneOf: unknown[] };
  // One branch per job kind but push, which has its own admin route (POST /v1/versions/{id}/push).
  assert.equal(schema.oneOf.length, Object.keys(jobSpecByKind).length - 1);
  assert.equal(JobSpec.safeParse({ kind: "push", model: "m", repo: "a/b" }).success, false);
});

test("quantize's calibration size: ids used all at their length, a text 128 × 2048 unless told; one rule for job and CLI", () => {
  const size = (calibration?: unknown) => {
    const c = quantizeCalibration(
      QuantizeSpec.parse({ kind: "quantize", model: "m", ...(calibration ? { calibration } : {}) })
        .calibration,
    );
    return [c.n, c.seqLen];
  };
  assert.deepEqual(size(), [128, 2048]);
  assert.deepEqual(QUANTIZE_CALIBRATION, { n: 128, seqLen: 2048 });
  // A source without a size keeps the paper's size (the general Calibration default would say 8 × 128).
  assert.deepEqual(size({ dataset: "ptb" }), [128, 2048]);
  assert.deepEqual(size({ dataset: "ptb", n: 16 }), [16, 2048]);
  assert.deepEqual(size({ text: "some text", seqLen: 64 }), [128, 64]);
  const ids = [
    [1, 2, 3, 4, 5],
    [6, 7, 8, 9, 10],
    [1, 1, 1, 1, 1],
  ];
  assert.deepEqual(size({ ids }), [3, 5]);
  assert.deepEqual(size({ ids, n: 2, seqLen: 4 }), [2, 4]);
  // The other calibrated jobs keep their own defaults.
  assert.equal(
    jobSpecByKind.importance.parse({ kind: "importance", model: "m", criterion: "ppl" }).calibration.n,
    8,
  );
  assert.equal(
    QuantizeSpec.safeParse({ kind: "quantize", model: "m", calibration: { ids, dataset: "ptb" } }).success,
    false,
  );
});
