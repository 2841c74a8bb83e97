// The evaluation report's layout: the paper's column order, sections gathered from job results in the
// paper's order, and averages over what is shown.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type EvaluationReport,
  formatParameters,
  type ReportModel,
  type ReportSection,
  renderReport,
  reportSections,
} from "./report.js";

const model: ReportModel = {
  versionId: "v2",
  name: "llama",
  number: 2,
  kind: "pruned",
  blocks: 26,
  parameters: 5_500_000_000,
  removedBlocks: [20, 21, 22, 23, 24, 25],
};
const ppl = (dataset: string, seqLen: number, value: number): ReportSection => ({
  kind: "ppl",
  dataset,
  seqLen,
  ppl: value,
  tokens: 1000,
  protocol: { task: "ppl", seqLen },
  jobId: `ppl-${dataset}-${seqLen}`,
  model,
});
const row = (acc: number, metric: "acc" | "acc_norm", accNorm: number | null = null) => ({
  acc,
  acc_norm: accNorm,
  n: 100,
  metric,
  value: metric === "acc" ? acc : accNorm!,
  split: "test",
});
const zeroShot: ReportSection = {
  kind: "zeroshot",
  tasks: { arc_challenge: row(0.3, "acc_norm", 0.4), boolq: row(0.7, "acc") },
  average: 0.55,
  notes: ["boolq: 100 of 100 items have no passage"],
  protocol: {
    task: "zeroshot",
    harness: "lm-evaluation-harness@3326c54",
    taskFiles: { boolq: [{ file: "boolq.jsonl", sha256: "ab12" }] },
  },
  jobId: "zs",
  model,
};
const samples: ReportSection = {
  kind: "generate",
  settings: {
    doSample: false,
    temperature: 1,
    topK: 0,
    topP: 1,
    seed: 0,
    maxNewTokens: 16,
    numSamples: 1,
    bos: true,
  },
  samples: [
    { prompt: "AI can create a logo in seconds", outputs: [{ text: " and", finish: "eos", newTokens: 2 }] },
  ],
  protocol: { task: "generate" },
  jobId: "gen",
  model,
};

test("sections come from evaluate results in the paper's order; other results are left out", () => {
  const got = reportSections([
    { report: samples },
    null,
    { removed: [1, 2] },
    { report: ppl("ptb", 128, 30) },
    { report: zeroShot },
    { report: ppl("wikitext2", 128, 20) },
  ]);
  assert.deepEqual(
    got.map((s) => s.jobId),
    ["ppl-wikitext2-128", "ppl-ptb-128", "zs", "gen"],
  );
});

test("the results row follows the paper's columns; the average is over the tasks shown", () => {
  const report: EvaluationReport = {
    model,
    sections: [ppl("wikitext2", 128, 20.123), ppl("wikitext2", 2048, 12.5), zeroShot, samples],
  };
  const md = renderReport(report);
  assert.match(md, /^# Evaluation report: llama@2 \(pruned\)$/m);
  assert.match(md, /26 blocks, 5\.50B parameters; blocks 20, 21, 22, 23, 24, 25 of its parent removed\./);
  assert.match(
    md,
    /^\| Model \| #Param \| PPL WikiText2 \(128\)↓ \| PPL WikiText2 \(2048\)↓ \| BoolQ \| ARC-c \| Ave\.↑ \|$/m,
  );
  // BoolQ reports acc (70.0), ARC-c acc_norm (40.0): average 55.0.
  assert.match(md, /^\| llama@2 \| 5\.50B \| 20\.12 \| 12\.50 \| 70\.0 \| 40\.0 \| 55\.0 \|$/m);
  assert.match(md, /plain mean over the 2 tasks shown \(the paper averages all 7\)/);
  assert.match(md, /^\| ARC-c \| test \| 100 \| 30\.0 \| 40\.0 \| acc_norm \|$/m);
  assert.match(md, /^- Note: boolq: 100 of 100 items have no passage$/m);
  assert.match(md, /^Decoding: greedy, at most 16 new tokens, with BOS\.$/m);
  assert.match(md, /^> \*\*AI can create a logo in seconds\*\* and$/m);
  assert.match(md, /^- zero-shot \(job `zs`\): harness=lm-evaluation-harness@3326c54, task=zeroshot$/m);
  assert.match(md, /^ {2}- `boolq\.jsonl` sha256 `ab12`$/m);
});

test("a report of generations alone has no results table", () => {
  const md = renderReport({ model, sections: [samples] });
  assert.doesNotMatch(md, /## Results/);
  assert.match(md, /## Generation examples/);
});

test("parameter counts read as the paper writes them", () => {
  assert.equal(formatParameters(6_738_415_616), "6.74B");
  assert.equal(formatParameters(351_232), "351K");
  assert.equal(formatParameters(999), "999");
});
