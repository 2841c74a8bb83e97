import assert from "node:assert/strict";
import { test } from "node:test";
import { PipelineSpec } from "@shortened/contracts";
import { planPipeline } from "./pipeline-plan.js";

test("a pipeline becomes importance -> prune -> evaluate, each reading the step before", () => {
  let n = 0;
  const spec = PipelineSpec.parse({
    kind: "pipeline",
    model: "v0",
    importance: { criterion: "bi", keepFirst: 1, keepLast: 1 },
    prune: { count: 2 },
    evaluate: [{ dataset: "wikitext2" }, { dataset: "ptb" }],
  });
  const steps = planPipeline(spec, "P", () => `s${++n}`);
  assert.deepEqual(
    steps.map((s) => s.spec.kind),
    ["importance", "prune", "evaluate", "evaluate"],
  );
  assert.ok(steps.every((s) => s.parentJobId === "P"));
  const [imp, prune, e1, e2] = steps.map((s) => s.spec as Record<string, unknown>);
  assert.equal(imp.model, "v0");
  assert.equal(prune.model, "v0");
  assert.equal(prune.importanceJob, "s1");
  assert.equal(prune.criterion, "bi");
  assert.equal(e1.model, "job:s2");
  assert.equal(e2.model, "job:s2");
});

test("explicit blocks need no importance step", () => {
  const spec = PipelineSpec.parse({ kind: "pipeline", model: "v0", prune: { blocks: [3] } });
  const steps = planPipeline(spec, "P", () => "x");
  assert.equal(steps.length, 1);
  assert.deepEqual((steps[0].spec as { blocks: number[] }).blocks, [3]);
});

test("a pipeline with retraining evaluates the merged model the retrain step makes", () => {
  let n = 0;
  const spec = PipelineSpec.parse({
    kind: "pipeline",
    model: "v0",
    importance: { criterion: "ppl" },
    prune: { count: 2 },
    retrain: { method: "lora", steps: 20, data: { dataset: "alpaca" } },
    evaluate: [{ dataset: "wikitext2" }],
  });
  const steps = planPipeline(spec, "P", () => `s${++n}`);
  assert.deepEqual(
    steps.map((s) => s.spec.kind),
    ["importance", "prune", "retrain", "evaluate"],
  );
  const [, , retrain, evaluate] = steps.map((s) => s.spec as Record<string, unknown>);
  assert.equal(retrain.model, "job:s2");
  assert.equal(retrain.merge, true);
  assert.equal(retrain.steps, 20);
  assert.equal(evaluate.model, "job:s3");
});

test("a pipeline refuses to evaluate an unmerged adapter", () => {
  const spec = PipelineSpec.parse({
    kind: "pipeline",
    model: "v0",
    prune: { blocks: [3] },
    retrain: { merge: false },
    evaluate: [{ dataset: "ptb" }],
  });
  assert.throws(() => planPipeline(spec, "P", () => "x"), /merged checkpoint/);
});
