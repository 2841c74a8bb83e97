// The input types a typed client writes specs against (JobSpecInput): every step kind a pipeline or a study
// accepts must be writable as a plain literal. This file is type-checked by `tsc -b` (tsconfig.unit.json): a
// step erased to `never` or `{}` fails the build here (the literals below, or the @ts-expect-error lines that
// then expect an error that does not come); the runtime part checks that the schema accepts the same specs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { JobSpec, type JobSpecInput, type PipelineSpec, type StudySpec } from "./jobs.js";

type PipelineInput = Extract<JobSpecInput, { kind: "pipeline" }>;
type EvaluateStepInput = NonNullable<PipelineInput["evaluate"]>[number];

/** True when A and B are the same type (neither wider). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameType = <A, B>(_same: Same<A, B>) => {};

// The steps keep their discriminant: one variant per evaluate task, none of them never.
sameType<EvaluateStepInput["task"], "ppl" | "zeroshot" | "generate" | undefined>(true);
sameType<Extract<EvaluateStepInput, { task: "zeroshot" }> extends never ? true : false, false>(true);
sameType<Extract<EvaluateStepInput, { task: "generate" }> extends never ? true : false, false>(true);
// and the parsed (output) types name the same variants
sameType<PipelineSpec["evaluate"][number]["task"], "ppl" | "zeroshot" | "generate">(true);
sameType<StudySpec["evaluate"][number]["task"], "ppl" | "zeroshot" | "generate">(true);

const pipeline: JobSpecInput = {
  kind: "pipeline",
  model: "tiny",
  importance: { criterion: "taylor", calibration: { n: 2, seqLen: 16 } },
  prune: { count: 2 },
  retrain: { method: "lora", steps: 3 },
  evaluate: [
    { task: "ppl", dataset: "wikitext2", maxTokens: 256 },
    { task: "zeroshot", tasks: ["piqa", "boolq"], limit: 4, bos: "tokenizer" },
    { task: "generate", prompts: ["Once upon a time"], maxNewTokens: 8, topK: 5 },
  ],
};

const study: JobSpecInput = {
  kind: "study",
  model: "tiny",
  criteria: ["ppl", "reverse"],
  counts: [1, 2],
  evaluate: [
    { task: "zeroshot", tasks: ["arc_easy"] },
    { task: "generate", prompts: ["Hello"], sample: true, seed: 7 },
  ],
};

// A step's fields are checked as a whole spec's are: unknown fields, another task's fields, kind or model.
const refused: PipelineInput[] = [
  // @ts-expect-error a generate step needs prompts
  { kind: "pipeline", model: "m", prune: { count: 1 }, evaluate: [{ task: "generate" }] },
  // @ts-expect-error maxNewTokens belongs to generate, not zero-shot
  { kind: "pipeline", model: "m", prune: { count: 1 }, evaluate: [{ task: "zeroshot", maxNewTokens: 4 }] },
  // @ts-expect-error a step takes its model from the step before
  { kind: "pipeline", model: "m", prune: { count: 1 }, evaluate: [{ task: "ppl", model: "other" }] },
  // @ts-expect-error a retrain step has no kind
  { kind: "pipeline", model: "m", prune: { count: 1 }, retrain: { kind: "retrain" } },
  // @ts-expect-error an importance step has no field limit
  { kind: "pipeline", model: "m", prune: { count: 1 }, importance: { limit: 3 } },
];

test("the typed pipeline and study literals are specs the schema accepts", () => {
  for (const spec of [pipeline, study]) {
    const r = JobSpec.safeParse(spec);
    assert.equal(r.success, true, r.success ? "" : r.error.message);
  }
  const parsed = JobSpec.parse(pipeline);
  assert.equal(parsed.kind, "pipeline");
  assert.deepEqual(parsed.kind === "pipeline" ? parsed.evaluate.map((e) => e.task) : [], [
    "ppl",
    "zeroshot",
    "generate",
  ]);
});

test("the specs the types refuse, the schema refuses too", () => {
  for (const spec of refused) assert.equal(JobSpec.safeParse(spec).success, false, JSON.stringify(spec));
});
